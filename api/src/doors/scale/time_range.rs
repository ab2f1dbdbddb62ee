//! Scale's `started`/`ended` parameters (`util/rest.py#parse_timestamp`, `check_time_range`,
//! `get_relative_days`; `util/parse.py`; reference §1.1, §1.3). chrono does the calendar and the
//! arithmetic; the grammar is hand-written because Django 1.11's `parse_datetime` is looser than RFC
//! 3339 (one-digit fields, no seconds, `+01`/`+0100` offsets, a space for `T`) and Scale's duration
//! regex takes only D, H, M, S with fractions on any of them, which no ISO-8601 crate matches.

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};

use super::iso::{datetime, duration};

use super::{Params, Raw, ScaleError};

/// The `/load/` limit: `max_duration=datetime.timedelta(days=31)` in `JobLoadView.list`.
pub(crate) const LOAD_MAX_DAYS: i64 = 31;

/// The one 400 for any unparseable timestamp: Scale's bare `except:` swallows the inner "Did not
/// parse a result" message too.
pub(crate) fn invalid_timestamp(name: &str) -> ScaleError {
    ScaleError::bad_parameter(format!(
        "Invalid ISO timestamp format for parameter: {name}"
    ))
}

/// `parse_util.parse_timestamp`: `P...` is "now minus the duration", anything else a datetime that
/// must contain `Z` or `+`. `now` is Django's `timezone.now()`, taken as a parameter for tests.
pub(crate) fn parse_timestamp(
    value: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ScaleError> {
    let parsed = if value.starts_with('P') {
        duration(value).and_then(|d| micros(now).checked_sub_signed(d))
    } else if value.contains('Z') || value.contains('+') {
        datetime(value)
    } else {
        None
    };
    // Python's datetime stops at year 1; chrono goes further, so the floor is checked here.
    parsed
        .filter(|t| *t >= year_one())
        .ok_or_else(|| invalid_timestamp(name))
}

/// Python's clock has microseconds; dropping the rest keeps `started == ended` comparisons the same.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t - TimeDelta::nanoseconds(i64::from(t.timestamp_subsec_nanos() % 1000))
}

fn year_one() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap()
}

/// `get_relative_days(days)`: UTC midnight of the day `days` days before now (not now minus 7×24 h).
pub(crate) fn relative_days(days: i64, now: DateTime<Utc>) -> DateTime<Utc> {
    (now - TimeDelta::days(days))
        .date_naive()
        .and_time(NaiveTime::MIN)
        .and_utc()
}

/// Python's `str(timedelta)`, for the range message: `31 days, 0:00:00`, `1 day, 2:03:04.000005`.
fn python_timedelta(d: TimeDelta) -> String {
    let us = d.num_microseconds().unwrap_or(i64::MAX);
    let (days, rest) = (us.div_euclid(86_400_000_000), us.rem_euclid(86_400_000_000));
    let (secs, frac) = (rest / 1_000_000, rest % 1_000_000);
    let mut out = String::new();
    if days != 0 {
        out += &format!("{days} day{}, ", if days.abs() == 1 { "" } else { "s" });
    }
    out += &format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        out += &format!(".{frac:06}");
    }
    out
}

/// `check_time_range`: nothing is checked unless both ends are given; then equal, reversed and (with
/// a maximum) too long ranges are each their own 400. The length check is `duration > max`, so
/// exactly 31 days passes and a microsecond more does not.
pub(crate) fn check_time_range(
    started: Option<DateTime<Utc>>,
    ended: Option<DateTime<Utc>>,
    max: Option<TimeDelta>,
) -> Result<(), ScaleError> {
    let (Some(started), Some(ended)) = (started, ended) else {
        return Ok(());
    };
    if started == ended {
        return Err(ScaleError::bad_parameter(
            "Start and end values must be different",
        ));
    }
    if started > ended {
        return Err(ScaleError::bad_parameter(
            "Start time must come before end time",
        ));
    }
    if let Some(max) = max.filter(|m| !m.is_zero()) {
        let duration = ended - started;
        if duration < TimeDelta::zero() || duration > max {
            return Err(ScaleError::bad_parameter(format!(
                "Time range must be between 0 and {}",
                python_timedelta(max)
            )));
        }
    }
    Ok(())
}

/// `parse_timestamp(request, name, required=False)`: absent is `None`; a non-text JSON value is not
/// a time Hopper can use (Scale would pass it on and fail later), so it gets the same 400.
pub(crate) fn optional_timestamp(
    params: &Params<'_>,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ScaleError> {
    match params.value(name) {
        None => Ok(None),
        Some(Raw::Text(t)) => parse_timestamp(t, name, now).map(Some),
        Some(Raw::Json(serde_json::Value::String(t))) => parse_timestamp(t, name, now).map(Some),
        Some(Raw::Json(_)) => Err(invalid_timestamp(name)),
    }
}

/// `/load/`'s range: `started` defaults to 00:00 UTC seven days ago, `ended` to no upper bound (not
/// "now", whatever the docs say), and the 31-day limit applies only when both are given (§1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoadRange {
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
}

pub(crate) fn load_range(params: &Params<'_>, now: DateTime<Utc>) -> Result<LoadRange, ScaleError> {
    let started =
        optional_timestamp(params, "started", now)?.unwrap_or_else(|| relative_days(7, now));
    let ended = optional_timestamp(params, "ended", now)?;
    check_time_range(Some(started), ended, Some(TimeDelta::days(LOAD_MAX_DAYS)))?;
    Ok(LoadRange { started, ended })
}

/// `(started, ended)`, either absent.
pub(crate) type OptionalRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The v5 requeue's range (§1.7): both optional, same checks, no maximum.
pub(crate) fn optional_range(
    params: &Params<'_>,
    now: DateTime<Utc>,
) -> Result<OptionalRange, ScaleError> {
    let started = optional_timestamp(params, "started", now)?;
    let ended = optional_timestamp(params, "ended", now)?;
    check_time_range(started, ended, None)?;
    Ok((started, ended))
}

#[cfg(test)]
mod tests {
    // A failed unwrap in a table-driven test names the case in its panic; that is the point here.
    #![allow(clippy::unwrap_used, clippy::type_complexity)]

    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2015-10-21T12:34:56.789123456Z".parse().unwrap()
    }
    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }
    fn detail(e: ScaleError) -> (u16, String) {
        (
            e.status.as_u16(),
            e.body["detail"].as_str().unwrap().to_owned(),
        )
    }

    #[test]
    fn accepted_forms() {
        let cases = [
            ("2015-01-01T00:00:00Z", "2015-01-01T00:00:00Z"),
            ("2015-01-01T00:00:00.5Z", "2015-01-01T00:00:00.5Z"),
            (
                "2015-01-01T00:00:00.123456789012Z",
                "2015-01-01T00:00:00.123456Z",
            ),
            ("2015-01-01T01:00:00+01:00", "2015-01-01T00:00:00Z"),
            ("2015-01-01T01:30:00+0130", "2015-01-01T00:00:00Z"),
            ("2015-01-01T01:00:00+01", "2015-01-01T00:00:00Z"),
            ("2015-01-01 00:00:00Z", "2015-01-01T00:00:00Z"),
            ("2015-1-2T3:4Z", "2015-01-02T03:04:00Z"),
            ("2015-01-01T00:00:00Z\n", "2015-01-01T00:00:00Z"),
            ("P1D", "2015-10-20T12:34:56.789123Z"),
            ("PT3H0M0S", "2015-10-21T09:34:56.789123Z"),
            ("P1DT1H1M1S", "2015-10-20T11:33:55.789123Z"),
            ("PT1.5H", "2015-10-21T11:04:56.789123Z"),
            ("PT0.000001S", "2015-10-21T12:34:56.789122Z"),
            ("P1e1D", "2015-10-11T12:34:56.789123Z"),
            ("P", "2015-10-21T12:34:56.789123Z"),
            ("PT", "2015-10-21T12:34:56.789123Z"),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_timestamp(input, "started", now()),
                Ok(at(want)),
                "{input}"
            );
        }
    }

    #[test]
    fn rejected_forms_all_answer_the_one_message() {
        let cases = [
            "",
            "2015-01-01T00:00:00",
            "2015-01-01T00:00:00-05:00",
            "2015-01-01T00:00:00 01:00",
            "2015-01-01Z",
            "2015-01-01",
            "2015-13-01T00:00:00Z",
            "2015-02-30T00:00:00Z",
            "2015-01-01T24:00:00Z",
            "2015-01-01T00:00:60Z",
            "0000-01-01T00:00:00Z",
            "2015-01-01T00:00:00.1234567890123Z",
            "2015-01-01T00:00:00+24:00",
            "2015-01-01T00:00:00+013",
            "2015-01-01T00:00:00Zjunk",
            "P1Y",
            "P1M",
            "P1W",
            "PT1D",
            "P1H",
            "PD",
            "P1,5D",
            "p1d",
            "P1DT1H1M1S1",
            "P99999999999D",
            "P1e400D",
            "P800000D",
            "yesterday+",
        ];
        for input in cases {
            let err = parse_timestamp(input, "ended", now()).unwrap_err();
            assert_eq!(
                detail(err),
                (
                    400,
                    "Invalid ISO timestamp format for parameter: ended".into()
                ),
                "{input:?}"
            );
        }
    }

    #[test]
    fn relative_days_is_utc_midnight() {
        assert_eq!(relative_days(7, now()), at("2015-10-14T00:00:00Z"));
        assert_eq!(relative_days(0, now()), at("2015-10-21T00:00:00Z"));
    }

    #[test]
    fn time_range_rules() {
        let max = Some(TimeDelta::days(31));
        let s = at("2015-01-01T00:00:00Z");
        let cases: [(Option<&str>, Option<TimeDelta>, Result<(), &str>); 7] = [
            (Some("2015-02-01T00:00:00Z"), max, Ok(())), // exactly 31 days
            (
                Some("2015-02-01T00:00:00.000001Z"),
                max,
                Err("Time range must be between 0 and 31 days, 0:00:00"),
            ),
            (
                Some("2015-02-02T00:00:00Z"),
                max,
                Err("Time range must be between 0 and 31 days, 0:00:00"),
            ),
            (
                Some("2015-01-01T00:00:00Z"),
                max,
                Err("Start and end values must be different"),
            ),
            (
                Some("2015-01-01T01:00:00+01:00"),
                max,
                Err("Start and end values must be different"),
            ),
            (
                Some("2014-12-31T00:00:00Z"),
                max,
                Err("Start time must come before end time"),
            ),
            (Some("2016-01-01T00:00:00Z"), None, Ok(())),
        ];
        for (ended, max, want) in cases {
            let ended = ended.map(|e| parse_timestamp(e, "ended", now()).unwrap());
            let got = check_time_range(Some(s), ended, max).map_err(detail);
            assert_eq!(got, want.map_err(|m| (400, m.to_owned())), "{ended:?}");
        }
        assert_eq!(check_time_range(Some(s), None, max), Ok(()));
        assert_eq!(check_time_range(None, Some(s), max), Ok(()));
        assert_eq!(
            python_timedelta(TimeDelta::days(1) + TimeDelta::microseconds(3_723_000_005)),
            "1 day, 1:02:03.000005"
        );
    }

    #[test]
    fn load_range_defaults_and_order_of_errors() {
        let p = Params::new("", None);
        assert_eq!(
            load_range(&p, now()),
            Ok(LoadRange {
                started: at("2015-10-14T00:00:00Z"),
                ended: None
            })
        );
        // Only `started`, however long ago, passes: the limit needs both ends (§1.3).
        let p = Params::new("started=2015-01-01T00:00:00Z", None);
        assert_eq!(load_range(&p, now()).unwrap().ended, None);
        // Scale's own test_max_duration.
        let p = Params::new(
            "started=2015-01-01T00:00:00Z&ended=2015-02-02T00:00:00Z",
            None,
        );
        assert_eq!(
            detail(load_range(&p, now()).unwrap_err()).1,
            "Time range must be between 0 and 31 days, 0:00:00"
        );
        // `%2B` is a plus; a literal `+` is a space and so no timezone.
        let p = Params::new(
            "started=2015-01-01T01:00:00%2B01:00&ended=2015-01-02T00:00:00Z",
            None,
        );
        assert_eq!(
            load_range(&p, now()).map(|r| r.started),
            Ok(at("2015-01-01T00:00:00Z"))
        );
        let p = Params::new("started=2015-01-01T01:00:00+01:00", None);
        assert_eq!(
            detail(load_range(&p, now()).unwrap_err()).1,
            "Invalid ISO timestamp format for parameter: started"
        );
        let p = Params::new("started=bad&ended=bad", None);
        assert_eq!(
            detail(load_range(&p, now()).unwrap_err()).1,
            "Invalid ISO timestamp format for parameter: started"
        );
        let p = Params::new("started=P1D&ended=bad", None);
        assert_eq!(
            detail(load_range(&p, now()).unwrap_err()).1,
            "Invalid ISO timestamp format for parameter: ended"
        );
        // The last of repeated keys counts (`QueryDict.get`).
        let p = Params::new("started=bad&started=P1D", None);
        assert!(load_range(&p, now()).is_ok());
    }

    #[test]
    fn requeue_range_from_body() {
        let body = json!({"started": "2015-01-01T00:00:00Z", "ended": "2016-01-01T00:00:00Z"});
        let p = Params::new("", body.as_object());
        assert!(optional_range(&p, now()).is_ok()); // no 31-day limit here
        let body = json!({"started": 5});
        let p = Params::new("", body.as_object());
        assert_eq!(optional_range(&p, now()), Err(invalid_timestamp("started")));
        let body = json!({"started": "2016-01-01T00:00:00Z", "ended": "2015-01-01T00:00:00Z"});
        let p = Params::new("", body.as_object());
        assert_eq!(
            detail(optional_range(&p, now()).unwrap_err()).1,
            "Start time must come before end time"
        );
        assert_eq!(
            optional_range(&Params::new("", None), now()),
            Ok((None, None))
        );
    }
}
