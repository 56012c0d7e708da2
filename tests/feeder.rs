//! `TextFeeder::start_on`: the loopback feeder of `examples/feeder.rs` on
//! a port chosen by the caller (real TCP on 127.0.0.1).

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};

use ember::feeder::TextFeeder;

#[test]
fn serves_generated_lines_on_the_given_port() -> std::io::Result<()> {
    // A port free a moment ago; another process could take it in between,
    // so a few are tried.
    let feeder = (0..5)
        .find_map(|_| {
            let port = TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            TextFeeder::start_on(port, 100, 7).ok()
        })
        .expect("a free loopback port");
    let mut reader = BufReader::new(TcpStream::connect(("127.0.0.1", feeder.port()))?);
    for _ in 0..3 {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        assert_eq!(line.trim_end().split(' ').count(), 7, "{line:?}");
    }
    feeder.stop();
    Ok(())
}

#[test]
fn a_port_in_use_is_an_error() -> std::io::Result<()> {
    let taken = TcpListener::bind("127.0.0.1:0")?;
    let port = taken.local_addr()?.port();
    let err = TextFeeder::start_on(port, 100, 7).err().map(|e| e.kind());
    assert_eq!(err, Some(std::io::ErrorKind::AddrInUse));
    Ok(())
}
