//! A loopback text server for the socket examples where `nc -lk` is
//! missing: serves the shared generator's text on 127.0.0.1:PORT to whoever
//! connects (one connection at a time, the next after a disconnect) until
//! Ctrl-C.
//!
//! ```sh
//! cargo run --release --example feeder -- 9999            # 2000 lines a second
//! cargo run --release --example feeder -- 9999 500        # 500 lines a second
//! cargo run --release --example quickstart -- --port 9999 # in another terminal
//! ```

use ember::feeder::TextFeeder;

const USAGE: &str = "usage: feeder PORT [LINES_PER_SECOND]";

/// Words per line, as the quickstart's built-in feeder sends.
const WORDS_PER_LINE: usize = 10;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().ok_or(USAGE)?.parse()?;
    let rate: usize = match args.next() {
        Some(rate) => rate.parse()?,
        None => 2000,
    };
    let feeder = TextFeeder::start_on(port, rate, WORDS_PER_LINE)?;
    println!(
        "feeder: serving {rate} lines a second on 127.0.0.1:{} (Ctrl-C stops it)",
        feeder.port()
    );
    // Until the process is interrupted: the feeder thread does the work.
    loop {
        std::thread::park();
    }
}
