//! PHP's `DateTime` as `json_encode` shows it, the form of every time in Batchelor's replies (`queued`,
//! `started`, `finished`): `{"date":"2018-11-14 13:05:20.082591","timezone_type":3,
//! "timezone":"Europe/Stockholm"}`, the local time in a named IANA zone. Batchelor's clients read
//! `date` as local time in `timezone`, so both must come from one zone, with its daylight saving.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::{TZ_VARIANTS, Tz};
use serde_json::{Value, json};

/// An IANA time zone (`Europe/Stockholm`), from the database compiled into chrono-tz.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Zone(Tz);

impl Zone {
    /// The zone named `name`, as the setting HOPPER_TIMEZONE gives it. Like PHP, a name in the wrong
    /// case is accepted and written as the database spells it (`europe/stockholm` becomes
    /// `Europe/Stockholm`).
    pub(crate) fn parse(name: &str) -> Result<Zone, String> {
        Tz::from_str(name)
            .ok()
            .or_else(|| TZ_VARIANTS.into_iter().find(|tz| tz.name().eq_ignore_ascii_case(name)))
            .map(Zone)
            .ok_or_else(|| {
                format!(
                    "HOPPER_TIMEZONE is `{name}`, which is not an IANA time zone name: give a name \
                     such as `Europe/Stockholm`, `America/New_York` or `UTC` (the list: `timedatectl \
                     list-timezones`), or leave it unset to use the host's zone"
                )
            })
    }

    /// The host's zone, by name: `TZ` when it names one (`TZ=Europe/Stockholm`, as containers set
    /// it; glibc lets it override the system's), else the system's (`/etc/localtime` on Linux), else
    /// UTC (a container without zone files, say).
    pub(crate) fn host() -> Zone {
        let system = || iana_time_zone::get_timezone().ok();
        Zone::host_from(std::env::var("TZ").ok(), system)
    }

    fn host_from(tz: Option<String>, system: impl FnOnce() -> Option<String>) -> Zone {
        // POSIX allows a leading ':' (`TZ=:Europe/Stockholm`); a rule such as `CET-1CEST` is no name.
        let named = |name: Option<String>| Zone::parse(name?.trim_start_matches(':')).ok();
        named(tz)
            .or_else(|| named(system()))
            .unwrap_or(Zone(Tz::UTC))
    }

    /// The name PHP shows as `timezone`.
    pub(crate) fn name(&self) -> &str {
        self.0.name()
    }
}

/// The instant `unix_ms` (milliseconds since 1970 UTC) as PHP's `json_encode` shows a `DateTime` in
/// `zone`: `date` is `Y-m-d H:i:s.u` in the zone's local time (Hopper keeps milliseconds, so the
/// last three of the six fraction digits are 0), `timezone_type` 3 means "named zone". PHP writes
/// the keys in the order date, timezone_type, timezone; see `php_json::encode` on key order.
pub(crate) fn php_datetime(unix_ms: u64, zone: &Zone) -> Value {
    // Beyond year 262143 chrono has no date; no clock reaches it, so the last one it has will do.
    let utc = i64::try_from(unix_ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or(LAST);
    let local = utc.with_timezone(&zone.0);
    // PHP 8.2 writes the year with the `x` format: `+` before years from 10000 on.
    let sign = if local.year() >= 10_000 { "+" } else { "" };
    let date = format!(
        "{sign}{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second(),
        local.nanosecond() / 1_000,
    );
    json!({"date": date, "timezone_type": 3, "timezone": zone.name()})
}

/// chrono's last instant; it stays representable in every zone (tested at UTC+14 and UTC-12).
const LAST: DateTime<Utc> = DateTime::<Utc>::MAX_UTC;

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> Zone {
        Zone::parse(name).unwrap_or_else(|error| panic!("{error}"))
    }

    /// Every expected `date` is what PHP 8.2 printed for the same instant and zone.
    #[test]
    fn shows_local_time_in_the_named_zone() {
        let cases = [
            // Batchelor's documented example (PHP had microseconds; Hopper keeps milliseconds).
            (
                1_542_197_120_082,
                "Europe/Stockholm",
                "2018-11-14 13:05:20.082000",
            ),
            // Spring forward, 25 March 2018: 01:59:59.999 CET, then 03:00 CEST.
            (
                1_521_939_599_999,
                "Europe/Stockholm",
                "2018-03-25 01:59:59.999000",
            ),
            (
                1_521_939_600_000,
                "Europe/Stockholm",
                "2018-03-25 03:00:00.000000",
            ),
            // Fall back, 28 October 2018: 02:59:59.999 CEST, then 02:00 CET.
            (
                1_540_688_399_999,
                "Europe/Stockholm",
                "2018-10-28 02:59:59.999000",
            ),
            (
                1_540_688_400_000,
                "Europe/Stockholm",
                "2018-10-28 02:00:00.000000",
            ),
            (
                1_699_163_999_999,
                "America/New_York",
                "2023-11-05 01:59:59.999000",
            ),
            (
                1_699_164_000_000,
                "America/New_York",
                "2023-11-05 01:00:00.000000",
            ),
            // Half an hour of daylight saving.
            (
                1_712_413_799_999,
                "Australia/Lord_Howe",
                "2024-04-07 01:29:59.999000",
            ),
            (
                1_712_413_800_000,
                "Australia/Lord_Howe",
                "2024-04-07 01:30:00.000000",
            ),
            (
                1_542_197_120_082,
                "Asia/Kolkata",
                "2018-11-14 17:35:20.082000",
            ),
            (1_542_197_120_082, "UTC", "2018-11-14 12:05:20.082000"),
            (0, "UTC", "1970-01-01 00:00:00.000000"),
            (253_402_300_800_000, "UTC", "+10000-01-01 00:00:00.000000"),
        ];
        for (unix_ms, name, date) in cases {
            let expected = json!({"date": date, "timezone_type": 3, "timezone": name});
            assert_eq!(
                php_datetime(unix_ms, &zone(name)),
                expected,
                "{unix_ms} in {name}"
            );
        }
    }

    #[test]
    fn an_instant_beyond_chrono_shows_its_last_date_and_does_not_panic() {
        for name in ["Pacific/Kiritimati", "Etc/GMT+12"] {
            let shown = php_datetime(u64::MAX, &zone(name));
            assert!(
                shown["date"]
                    .as_str()
                    .is_some_and(|date| date.starts_with("+26214")),
                "{shown}"
            );
        }
    }

    #[test]
    fn parses_names_as_php_does_and_refuses_others_saying_what_to_give() {
        assert_eq!(zone("europe/stockholm").name(), "Europe/Stockholm");
        assert_eq!(zone("UTC").name(), "UTC");
        for bad in ["", "Mars/Olympus_Mons", "CEST", "+01:00", " UTC"] {
            let error = Zone::parse(bad).expect_err(bad);
            assert!(
                error.contains("HOPPER_TIMEZONE") && error.contains("Europe/Stockholm"),
                "{error}"
            );
        }
    }

    #[test]
    fn the_host_zone_comes_from_tz_then_the_system_then_is_utc() {
        let some = |name: &str| Some(name.to_owned());
        let cases = [
            (
                some("Europe/Stockholm"),
                some("Asia/Tokyo"),
                "Europe/Stockholm",
            ),
            (
                some(":America/New_York"),
                some("Asia/Tokyo"),
                "America/New_York",
            ),
            (
                some("CET-1CEST,M3.5.0,M10.5.0/3"),
                some("Asia/Tokyo"),
                "Asia/Tokyo",
            ),
            (None, some("Asia/Tokyo"), "Asia/Tokyo"),
            (None, some("Mars/Olympus_Mons"), "UTC"),
            (None, None, "UTC"),
        ];
        for (tz, system, expected) in cases {
            let zone = Zone::host_from(tz.clone(), || system.clone());
            assert_eq!(zone.name(), expected, "TZ={tz:?}, system {system:?}");
        }
        let host = Zone::host();
        assert_eq!(Zone::parse(host.name()), Ok(host));
    }
}
