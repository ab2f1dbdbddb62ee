//! `compose/docker-compose.yml` and `compose/haproxy.cfg`, read as data: every service that runs a
//! Hopper binary gives it only settings and flags its `--help` lists, every health check asks an
//! endpoint the node serves, and every stop grace period outlasts the drain it has to cover.
//! (`scripts/test` also runs `docker-compose config`, which checks the file is valid compose.)

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_norway::{Mapping, Value};

use crate::help::{Help, duration, hopper_variables, worker_stop_bound};

/// The health endpoints of an API node (api/src/lib.rs): /healthz while the process runs, /readyz
/// while it can reach Redis and RabbitMQ and is not shutting down.
const API_HEALTH_PATHS: [&str; 2] = ["/healthz", "/readyz"];

fn compose_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lies inside the repository")
        .join("compose")
}

/// One service that runs hopper-api or hopper-worker.
struct HopperService {
    name: String,
    binary: String,
    args: Vec<String>,
    environment: BTreeMap<String, String>,
    service: Mapping,
}

impl HopperService {
    /// A setting's value as the file gives it, or the default of a `${NAME:-default}`.
    fn setting(&self, variable: &str) -> Option<String> {
        let value = self.environment.get(variable)?;
        match value.strip_prefix("${") {
            Some(rest) => rest
                .split_once(":-")
                .map(|(_, default)| default.trim_end_matches('}').to_owned()),
            None => Some(value.clone()),
        }
    }

    fn duration_of(&self, variable: &str) -> Option<Duration> {
        self.setting(variable).map(|value| duration(&value))
    }

    fn stop_grace_period(&self) -> Duration {
        let value = self
            .service
            .get("stop_grace_period")
            .and_then(Value::as_str);
        duration(value.unwrap_or_else(|| {
            panic!(
                "{}: no stop_grace_period (Docker's default, 10 s, cuts a drain short)",
                self.name
            )
        }))
    }

    /// The URL its health check asks, if it asks one over HTTP.
    fn health_url(&self) -> Option<String> {
        let test = self.service.get("healthcheck")?.get("test")?;
        let words: Vec<String> = match test {
            Value::Sequence(items) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Value::String(line) => line.split_whitespace().map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        words.into_iter().find(|w| w.starts_with("http://"))
    }
}

/// The compose file with YAML anchors and merge keys (`<<: *hopper-env`) resolved.
fn compose_file() -> Value {
    let path = compose_dir().join("docker-compose.yml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut value: Value =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // A merged mapping may itself hold merge keys (a service merges x-hopper-api, which merges
    // x-hopper-env): resolve until nothing changes.
    loop {
        let before = value.clone();
        value.apply_merge().expect("merge keys that name mappings");
        if value == before {
            return value;
        }
    }
}

fn hopper_services() -> Vec<HopperService> {
    let file = compose_file();
    let services = file["services"]
        .as_mapping()
        .expect("a services mapping")
        .clone();
    services
        .into_iter()
        .filter_map(|(name, service)| {
            let name = name.as_str()?.to_owned();
            let service = service.as_mapping()?.clone();
            let mut command: Vec<String> = match service.get("command")? {
                Value::Sequence(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                Value::String(line) => line.split_whitespace().map(str::to_owned).collect(),
                _ => return None,
            };
            let binary = command.first()?.rsplit('/').next()?.to_owned();
            if !binary.starts_with("hopper-") {
                return None;
            }
            let args = command.split_off(1);
            let environment = match service.get("environment") {
                Some(Value::Mapping(map)) => map
                    .iter()
                    .filter_map(|(k, v)| {
                        let value = match v {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => serde_norway::to_string(other).ok()?.trim().to_owned(),
                        };
                        Some((k.as_str()?.to_owned(), value))
                    })
                    .collect(),
                Some(Value::Sequence(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|item| item.split_once('=').unwrap_or((item, "")))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                _ => BTreeMap::new(),
            };
            Some(HopperService {
                name,
                binary,
                args,
                environment,
                service,
            })
        })
        .collect()
}

fn of_binary<'a>(services: &'a [HopperService], binary: &str) -> Vec<&'a HopperService> {
    let found: Vec<_> = services.iter().filter(|s| s.binary == binary).collect();
    assert!(!found.is_empty(), "no service runs {binary}");
    found
}

/// Every HOPPER_* variable a service sets, and every flag it passes, is one its binary's `--help` lists.
#[test]
fn compose_services_use_only_settings_their_binary_has() {
    let services = hopper_services();
    for binary in ["hopper-api", "hopper-worker"] {
        let help = Help::of(binary);
        for service in of_binary(&services, binary) {
            let place = format!("compose service {}", service.name);
            for variable in hopper_variables(service.environment.keys().map(String::as_str)) {
                help.expect_variable(variable, &place);
            }
            for arg in service.args.iter().filter(|a| a.starts_with("--")) {
                help.expect_flag(arg, &place);
            }
        }
    }
}

/// Each API node's health check asks /readyz or /healthz on the port the node listens on; no worker has
/// an HTTP health check (a worker serves no HTTP unless HOPPER_METRICS_LISTEN is set, and then only
/// /metrics).
#[test]
fn compose_health_checks_ask_endpoints_the_nodes_serve() {
    let services = hopper_services();
    for node in of_binary(&services, "hopper-api") {
        let url = node
            .health_url()
            .unwrap_or_else(|| panic!("{}: no HTTP health check", node.name));
        let listen = node.setting("HOPPER_LISTEN").expect("HOPPER_LISTEN set");
        let port = listen.rsplit(':').next().expect("host:port");
        let rest = url.trim_start_matches("http://");
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        assert!(
            authority.ends_with(&format!(":{port}")),
            "{}: the health check asks {url}, but the node listens on {listen}",
            node.name
        );
        assert!(
            API_HEALTH_PATHS.contains(&path),
            "{}: the health check asks {path}, not one of {API_HEALTH_PATHS:?}",
            node.name
        );
    }
    for worker in of_binary(&services, "hopper-worker") {
        if let Some(url) = worker.health_url() {
            assert!(
                url.ends_with("/metrics") && worker.setting("HOPPER_METRICS_LISTEN").is_some(),
                "{}: a health check on {url}, which the worker does not serve",
                worker.name
            );
        }
    }
}

/// HAProxy checks the nodes on /readyz and sends to every API service, on its port; its configuration
/// is one `haproxy -c` accepts.
#[test]
fn compose_balancer_checks_readyz_on_every_api_node() {
    let services = hopper_services();
    let path = compose_dir().join("haproxy.cfg");
    let config =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let lines: Vec<Vec<&str>> = config
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let check = lines
        .iter()
        .find_map(|words| match words.as_slice() {
            ["option", "httpchk", "GET", path, ..] => Some(*path),
            _ => None,
        })
        .expect("haproxy.cfg checks the nodes with `option httpchk GET <path>`");
    assert!(
        API_HEALTH_PATHS.contains(&check),
        "haproxy.cfg checks {check}"
    );
    let servers: BTreeMap<&str, &str> = lines
        .iter()
        .filter_map(|words| match words.as_slice() {
            ["server", _, address, rest @ ..] if rest.contains(&"check") => address.split_once(':'),
            _ => None,
        })
        .collect();
    for node in of_binary(&services, "hopper-api") {
        let listen = node.setting("HOPPER_LISTEN").expect("HOPPER_LISTEN set");
        let port = listen.rsplit(':').next().expect("host:port");
        assert_eq!(
            servers.get(node.name.as_str()),
            Some(&port),
            "haproxy.cfg must send to {} on port {port} with a health check: {servers:?}",
            node.name
        );
    }
    let checked = std::process::Command::new("haproxy")
        .args(["-c", "-q", "-f"])
        .arg(&path)
        .output()
        .expect("run haproxy -c (scripts/ensure-services installs haproxy)");
    assert!(
        checked.status.success(),
        "haproxy -c refuses compose/haproxy.cfg: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// Docker waits stop_grace_period before SIGKILL: longer than HOPPER_UNREADY_DELAY +
/// HOPPER_SHUTDOWN_GRACE for a node, and
/// than HOPPER_DRAIN + HOPPER_KILL_GRACE + 2 s for a worker, so neither is killed while it drains.
#[test]
fn compose_stop_grace_periods_outlast_the_drains() {
    let services = hopper_services();
    for node in of_binary(&services, "hopper-api") {
        let grace = node
            .duration_of("HOPPER_SHUTDOWN_GRACE")
            .unwrap_or(Duration::from_secs(30))
            + node.duration_of("HOPPER_UNREADY_DELAY").unwrap_or_default();
        let period = node.stop_grace_period();
        assert!(
            period > grace,
            "{}: stop_grace_period {period:?} <= HOPPER_UNREADY_DELAY + HOPPER_SHUTDOWN_GRACE {grace:?}",
            node.name
        );
    }
    for worker in of_binary(&services, "hopper-worker") {
        let bound = worker_stop_bound(
            worker
                .duration_of("HOPPER_DRAIN")
                .unwrap_or(Duration::from_secs(300)),
            worker
                .duration_of("HOPPER_KILL_GRACE")
                .unwrap_or(Duration::from_secs(10)),
        );
        let period = worker.stop_grace_period();
        assert!(
            period > bound,
            "{}: stop_grace_period {period:?} <= the worker's stop bound {bound:?}",
            worker.name
        );
    }
}
