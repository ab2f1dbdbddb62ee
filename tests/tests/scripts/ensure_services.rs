//! `scripts/ensure-services` tells a service that answers its protocol from one that is gone and from
//! one that holds its port but is hung, and a hung one stops it, and `scripts/test`, at once.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::blackhole::Blackhole;
use crate::run::{Run, run_script};

/// How long a run may take. A check of a hung service gives up after 5 s; every other step takes well
/// under a second when the services are up.
const BOUND: Duration = Duration::from_secs(20);

/// The protocol header a client sends to open an AMQP 0-9-1 connection.
const AMQP_HEADER: &[u8] = b"AMQP\x00\x00\x09\x01";

fn describe(run: &Run) -> String {
    format!(
        "exit {:?} after {:?}\n--- stdout\n{}--- stderr\n{}",
        run.status, run.took, run.stdout, run.stderr
    )
}

/// Runs ensure-services with the port in `variable` taken by a stand-in that accepts connections and
/// never answers, and checks it stops with exit 1 and `refusal` (which names the port), starts no second
/// copy, and does not report `not_said`. Returns what the stand-in was sent, and the run's description.
async fn hung_service_stops_ensure_services(
    variable: &str,
    refusal: &str,
    not_said: &str,
) -> (Vec<u8>, String) {
    let service = Blackhole::start().await;
    let port = service.port().to_string();
    let run = run_script(
        "scripts/ensure-services",
        &[(variable, port.clone())],
        BOUND,
    )
    .await;

    let what = describe(&run);
    assert_eq!(run.status.code(), Some(1), "{what}");
    let refusal = refusal.replace("{port}", &port);
    assert!(run.stderr.contains(&refusal), "{what}");
    assert!(run.stderr.contains("Not starting another"), "{what}");
    assert!(!run.stdout.contains(not_said), "{what}");
    (service.received(), what)
}

/// A RabbitMQ that accepts connections but never answers the handshake (the gray failure of issue 9)
/// is reported as hung, by name, and ensure-services exits 1 instead of saying "already running".
#[tokio::test]
async fn hung_rabbitmq_is_reported_not_started() {
    let (received, what) = hung_service_stops_ensure_services(
        "HOPPER_ENSURE_AMQP_PORT",
        "ensure-services: rabbitmq: port {port} accepts connections but RabbitMQ does not answer the AMQP handshake",
        "rabbitmq: already running",
    )
    .await;
    // It was the handshake that went unanswered, not just a connect.
    assert!(
        received.starts_with(AMQP_HEADER),
        "the stand-in got {received:?}, not the AMQP protocol header\n{what}"
    );
}

/// A Redis that accepts connections but never answers PING (one paused with SIGSTOP, say) is reported
/// as hung, by name, and ensure-services exits 1 instead of starting a second redis-server on the
/// taken port.
#[tokio::test]
async fn hung_redis_is_reported_not_started() {
    let (received, what) = hung_service_stops_ensure_services(
        "HOPPER_ENSURE_REDIS_PORT",
        "ensure-services: redis: port {port} accepts connections but Redis does not answer PING",
        "redis: started",
    )
    .await;
    assert!(
        String::from_utf8_lossy(&received).contains("PING"),
        "the stand-in got {received:?}, not PING\n{what}"
    );
}

/// `scripts/test` stops at once when ensure-services finds RabbitMQ hung: non-zero, with
/// ensure-services' message, and before any cargo step. The `cargo` (and `rustup`) it finds first on
/// its PATH are stand-ins that only record that they were called and fail, so even a regression cannot
/// start a nested test run; the run's process group is killed if it outlives the bound all the same.
#[tokio::test]
async fn scripts_test_stops_before_cargo_on_hung_rabbitmq() {
    let rabbit = Blackhole::start().await;
    let bin = tempfile::tempdir().expect("a directory for the stand-ins");
    let called = bin.path().join("called");
    for tool in ["cargo", "rustup"] {
        let path = bin.path().join(tool);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\n# A stand-in: scripts/test must stop before it calls {tool}.\necho \"{tool} $*\" >>'{}'\nexit 1\n",
                called.display()
            ),
        )
        .expect("write a stand-in");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("make a stand-in executable");
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let run = run_script(
        "scripts/test",
        &[
            ("HOPPER_ENSURE_AMQP_PORT", rabbit.port().to_string()),
            ("PATH", format!("{}:{path}", bin.path().display())),
        ],
        BOUND,
    )
    .await;

    let what = describe(&run);
    assert!(!run.status.success(), "{what}");
    assert!(
        run.stderr.contains(&format!(
            "ensure-services: rabbitmq: port {} accepts connections but RabbitMQ does not answer the AMQP handshake",
            rabbit.port()
        )),
        "{what}"
    );
    assert!(
        !run.stdout.contains("test: cargo") && !run.stderr.contains("test: cargo"),
        "{what}"
    );
    assert!(
        !called.exists(),
        "scripts/test called {:?}\n{what}",
        std::fs::read_to_string(&called).unwrap_or_default()
    );
}

/// The happy path: this host's Redis and RabbitMQ, which answer PING and the AMQP handshake, are
/// reported as already running, and ensure-services exits 0.
#[tokio::test]
async fn running_services_are_reported_running() {
    let run = run_script("scripts/ensure-services", &[], BOUND).await;

    let what = describe(&run);
    assert!(run.status.success(), "{what}");
    assert!(
        run.stdout
            .contains("ensure-services: redis: already running on 127.0.0.1:6379"),
        "{what}"
    );
    assert!(
        run.stdout
            .contains("ensure-services: rabbitmq: already running (port 5672 answers AMQP)"),
        "{what}"
    );
    assert!(run.stderr.is_empty(), "{what}");
}
