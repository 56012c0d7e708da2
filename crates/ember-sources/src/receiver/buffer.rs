//! The bounded receiver buffer: how many records and bytes of one receiver
//! are alive, from `store*` accepting them until the last copy of the
//! batch RDD that took their block is dropped (in its contexts' buffers,
//! on the way to the block generator, in the block being cut, in the block
//! store, and in the blocks of generated batches that are queued, running,
//! or still remembered by the streams after they completed). `store*`
//! waits while the buffer is full (`ember.receiver.maxBufferedRecords`,
//! `ember.receiver.maxBufferedBytes`), so a socket source stops reading and
//! TCP flow control pushes back to the sender; it is refused once the
//! receiver stops. Of the records held, it also counts those a batch took
//! (allocated), so that the records no batch took yet are exact.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration as StdDuration;

/// How long a full buffer waits before checking the stop flag again (a
/// stop also wakes it at once).
const RECHECK: StdDuration = StdDuration::from_millis(50);

/// What a receiver holds, and the most it held at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BufferedAmount {
    /// Records accepted by `store*` and still alive: not yet taken by a
    /// batch, or in a batch RDD that has not been dropped yet.
    pub records: u64,
    /// Their size in bytes (see [`Receiver::record_size`](super::Receiver::record_size)).
    pub bytes: u64,
    /// The most records held at once so far.
    pub peak_records: u64,
    /// The most bytes held at once so far.
    pub peak_bytes: u64,
}

/// Why a receiver's records could not be admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The receiver is stopping or stopped.
    Stopped,
}

/// What is held, and how many of those records a batch took.
#[derive(Debug, Default)]
struct Held {
    amount: BufferedAmount,
    /// Records of `amount` in blocks a batch took.
    allocated: u64,
}

/// The accounting and the wait of one receiver's buffer.
#[derive(Debug)]
pub(crate) struct ReceiverBuffer {
    held: Mutex<Held>,
    changed: Condvar,
    closed: AtomicBool,
    max_records: u64,
    max_bytes: u64,
}

impl ReceiverBuffer {
    /// A buffer holding at most `max_records` records and `max_bytes`
    /// bytes (a single hand-over larger than that is admitted alone, when
    /// the buffer is empty).
    pub(crate) fn new(max_records: u64, max_bytes: u64) -> Self {
        ReceiverBuffer {
            held: Mutex::new(Held::default()),
            changed: Condvar::new(),
            closed: AtomicBool::new(false),
            max_records,
            max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fits(&self, held: &BufferedAmount, records: u64, bytes: u64) -> bool {
        held.records == 0
            || (held.records + records <= self.max_records && held.bytes + bytes <= self.max_bytes)
    }

    fn add(held: &mut BufferedAmount, records: u64, bytes: u64) {
        held.records += records;
        held.bytes += bytes;
        held.peak_records = held.peak_records.max(held.records);
        held.peak_bytes = held.peak_bytes.max(held.bytes);
    }

    /// Admits `records` records of `bytes` bytes if they fit now; `Ok(false)`
    /// when the buffer is full.
    pub(crate) fn try_admit(
        &self,
        records: u64,
        bytes: u64,
        stopping: &AtomicBool,
    ) -> Result<bool, Refused> {
        if self.closed.load(Ordering::SeqCst) || stopping.load(Ordering::SeqCst) {
            return Err(Refused::Stopped);
        }
        let mut held = self.lock();
        if !self.fits(&held.amount, records, bytes) {
            return Ok(false);
        }
        Self::add(&mut held.amount, records, bytes);
        Ok(true)
    }

    /// Admits `records` records of `bytes` bytes, waiting while the buffer
    /// is full; refused when `stopping` is set or the buffer is closed.
    pub(crate) fn admit(
        &self,
        records: u64,
        bytes: u64,
        stopping: &AtomicBool,
    ) -> Result<(), Refused> {
        let mut held = self.lock();
        loop {
            if self.closed.load(Ordering::SeqCst) || stopping.load(Ordering::SeqCst) {
                return Err(Refused::Stopped);
            }
            if self.fits(&held.amount, records, bytes) {
                Self::add(&mut held.amount, records, bytes);
                return Ok(());
            }
            held = self
                .changed
                .wait_timeout(held, RECHECK)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Counts records already in the block store when the receiver starts
    /// (blocks a write-ahead log replayed): a batch will take them.
    pub(crate) fn restore(&self, records: u64, bytes: u64) {
        Self::add(&mut self.lock().amount, records, bytes);
    }

    /// Records no batch took that were lost (a block the store refused):
    /// they leave the buffer.
    pub(crate) fn release(&self, records: u64, bytes: u64) {
        if records == 0 && bytes == 0 {
            return;
        }
        let mut held = self.lock();
        held.amount.records = held.amount.records.saturating_sub(records);
        held.amount.bytes = held.amount.bytes.saturating_sub(bytes);
        drop(held);
        self.changed.notify_all();
    }

    /// A batch took blocks of `records` records: they stay held, but are
    /// no longer unallocated.
    pub(crate) fn allocate(&self, records: u64) {
        self.lock().allocated += records;
    }

    /// The last copy of a taken block of `records` records and `bytes`
    /// bytes was dropped: they leave the buffer.
    pub(crate) fn release_allocated(&self, records: u64, bytes: u64) {
        let mut held = self.lock();
        held.allocated = held.allocated.saturating_sub(records);
        held.amount.records = held.amount.records.saturating_sub(records);
        held.amount.bytes = held.amount.bytes.saturating_sub(bytes);
        drop(held);
        self.changed.notify_all();
    }

    /// Records held that no batch took yet.
    pub(crate) fn unallocated(&self) -> u64 {
        let held = self.lock();
        held.amount.records.saturating_sub(held.allocated)
    }

    /// Wakes the waiting `admit`s (a stop was requested).
    pub(crate) fn wake(&self) {
        let _held = self.lock();
        self.changed.notify_all();
    }

    /// Refuses every later admission (the receiver source stopped).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake();
    }

    /// What is held now.
    pub(crate) fn amount(&self) -> BufferedAmount {
        self.lock().amount
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn admits_up_to_the_caps_and_waits_for_a_release() {
        let buffer = Arc::new(ReceiverBuffer::new(10, 100));
        let stopping = Arc::new(AtomicBool::new(false));
        assert_eq!(buffer.try_admit(6, 50, &stopping), Ok(true));
        assert_eq!(buffer.try_admit(5, 10, &stopping), Ok(false), "11 records");
        assert_eq!(buffer.try_admit(1, 51, &stopping), Ok(false), "101 bytes");
        assert_eq!(buffer.try_admit(4, 50, &stopping), Ok(true));
        let waiter = {
            let (buffer, stopping) = (Arc::clone(&buffer), Arc::clone(&stopping));
            std::thread::spawn(move || buffer.admit(3, 3, &stopping))
        };
        buffer.release(6, 50);
        assert_eq!(waiter.join().unwrap(), Ok(()));
        let amount = buffer.amount();
        assert_eq!((amount.records, amount.bytes), (7, 53));
        assert_eq!((amount.peak_records, amount.peak_bytes), (10, 100));
    }

    #[test]
    fn allocated_records_stay_held_until_released_and_are_not_unallocated() {
        let buffer = Arc::new(ReceiverBuffer::new(10, 100));
        let stopping = Arc::new(AtomicBool::new(false));
        buffer.admit(8, 80, &stopping).unwrap();
        buffer.allocate(5);
        assert_eq!(buffer.unallocated(), 3);
        assert_eq!(buffer.try_admit(3, 3, &stopping), Ok(false), "11 records");
        let waiter = {
            let (buffer, stopping) = (Arc::clone(&buffer), Arc::clone(&stopping));
            std::thread::spawn(move || buffer.admit(3, 3, &stopping))
        };
        buffer.release_allocated(5, 50);
        assert_eq!(waiter.join().unwrap(), Ok(()));
        assert_eq!(buffer.unallocated(), 6);
        let amount = buffer.amount();
        assert_eq!((amount.records, amount.bytes), (6, 33));
    }

    #[test]
    fn a_hand_over_larger_than_the_caps_is_admitted_alone() {
        let buffer = ReceiverBuffer::new(10, 100);
        let stopping = AtomicBool::new(false);
        assert_eq!(buffer.try_admit(20, 500, &stopping), Ok(true));
        assert_eq!(buffer.try_admit(1, 1, &stopping), Ok(false));
        buffer.release(20, 500);
        assert_eq!(buffer.amount().records, 0);
    }

    #[test]
    fn a_full_buffer_refuses_once_stopped() {
        let buffer = Arc::new(ReceiverBuffer::new(1, 100));
        let stopping = Arc::new(AtomicBool::new(false));
        buffer.admit(1, 1, &stopping).unwrap();
        let waiter = {
            let (buffer, stopping) = (Arc::clone(&buffer), Arc::clone(&stopping));
            std::thread::spawn(move || buffer.admit(1, 1, &stopping))
        };
        buffer.close();
        assert_eq!(waiter.join().unwrap(), Err(Refused::Stopped));
        assert_eq!(buffer.try_admit(1, 1, &stopping), Err(Refused::Stopped));
        assert_eq!(
            buffer.amount().records,
            1,
            "refused records are not counted"
        );
    }
}
