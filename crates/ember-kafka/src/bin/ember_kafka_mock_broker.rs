//! librdkafka's mock Kafka cluster as its own process, for tests: prints
//! `bootstrap <servers>`, then executes `create <topic> <partitions>`,
//! `down` and `up` commands from standard input (one per line, answered
//! `ok` or `error <message>`) until standard input closes.

fn main() {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    if let Err(e) = ember_kafka::mock_broker::serve(stdin, stdout) {
        eprintln!("ember_kafka_mock_broker: {e}");
        std::process::exit(1);
    }
}
