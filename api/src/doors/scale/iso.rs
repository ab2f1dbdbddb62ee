//! The text grammars behind Scale's timestamps, kept apart from the range rules in `time_range`:
//! Scale's own ISO-8601 duration regex (`util/parse.py`) and Django 1.11's `dateparse.datetime_re`.
//! chrono validates the calendar; the grammar is hand-written because no ISO-8601 crate accepts
//! exactly these forms (see `time_range`'s module doc).

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// Scale's `iso8601_duration_re` (`^P(?:(\d+(.\d+)?)D)?(?:T(?:(..)H)?(?:(..)M)?(?:(..)S)?)?$`), each
/// number through `float()`. The regex's unescaped `.` admits any character, but only `.`, `e` and
/// `E` leave text `float()` accepts, so those three are the only ones taken here. `P` and `PT` alone
/// are zero. Python's `timedelta` caps at 999999999 days; beyond it Scale's `OverflowError` is a 400.
pub(crate) fn duration(value: &str) -> Option<Duration> {
    let mut rest = value.strip_prefix('P')?;
    let mut seconds = 0f64;
    let mut take = |rest: &mut &str, unit: char, scale: f64| -> Option<()> {
        if let Some((number, after)) = number_then(rest, unit) {
            seconds += number * scale;
            *rest = after;
        }
        Some(())
    };
    take(&mut rest, 'D', 86_400.0)?;
    if let Some(after_t) = rest.strip_prefix('T') {
        rest = after_t;
        take(&mut rest, 'H', 3_600.0)?;
        take(&mut rest, 'M', 60.0)?;
        take(&mut rest, 'S', 1.0)?;
    }
    if !(rest.is_empty() || rest == "\n") {
        return None;
    }
    let us = (seconds * 1e6).round_ties_even();
    (us.is_finite() && us.abs() < 1e6 * 86_400.0 * 1e9).then(|| Duration::microseconds(us as i64))
}

/// `\d+([.eE]\d+)?` followed by `unit`: the number and the text after the unit.
fn number_then(s: &str, unit: char) -> Option<(f64, &str)> {
    let digits = |t: &str| t.bytes().take_while(u8::is_ascii_digit).count();
    let mut end = digits(s);
    if end == 0 {
        return None;
    }
    if let Some(b'.' | b'e' | b'E') = s.as_bytes().get(end) {
        let more = digits(&s[end + 1..]);
        if more > 0 && s[end + 1 + more..].starts_with(unit) {
            end += 1 + more;
        }
    }
    let after = s[end..].strip_prefix(unit)?;
    Some((s[..end].parse().ok()?, after))
}

/// Django 1.11's `dateparse.datetime_re` (`YYYY-M-D[T ]h:m[:s[.ffffff[ffffff]]]` then `Z` or
/// `±hh[[:]mm]`), with Python's `$` also matching before one final newline. Out-of-range fields are
/// Python's `ValueError`, so `None`. An offset of 24 h or more, which Python would only reject later
/// with a 500, is refused here.
pub(crate) fn datetime(value: &str) -> Option<DateTime<Utc>> {
    let mut cur = value.strip_suffix('\n').unwrap_or(value);
    let year = digits(&mut cur, 4, 4)?;
    sep(&mut cur, "-")?;
    let month = digits(&mut cur, 1, 2)?;
    sep(&mut cur, "-")?;
    let day = digits(&mut cur, 1, 2)?;
    sep(&mut cur, "T ")?;
    let hour = digits(&mut cur, 1, 2)?;
    sep(&mut cur, ":")?;
    let minute = digits(&mut cur, 1, 2)?;
    let (mut second, mut micro) = (0, 0);
    if sep(&mut cur, ":").is_some() {
        second = digits(&mut cur, 1, 2)?;
        if cur.starts_with('.') && cur[1..].starts_with(|c: char| c.is_ascii_digit()) {
            cur = &cur[1..];
            // `(?P<microsecond>\d{1,6})\d{0,6}`: six digits kept (right-padded), six more ignored.
            let n = cur.bytes().take_while(u8::is_ascii_digit).count();
            if n > 12 {
                return None;
            }
            let kept = &cur[..n.min(6)];
            micro = kept.parse::<u32>().ok()? * 10u32.pow(6 - u32::try_from(kept.len()).ok()?);
            cur = &cur[n..];
        }
    }
    let offset_minutes = if sep(&mut cur, "Z").is_some() {
        0
    } else {
        let negative = cur.starts_with('-');
        sep(&mut cur, "+-")?;
        let hh = digits(&mut cur, 2, 2)?;
        let mut after = cur.strip_prefix(':').unwrap_or(cur);
        // `(?::?\d{2})?`: minutes only when two digits follow; otherwise `$` must come next.
        let mm = if after.len() >= 2 && after.as_bytes()[..2].iter().all(u8::is_ascii_digit) {
            let mm = digits(&mut after, 2, 2)?;
            cur = after;
            mm
        } else {
            0
        };
        let total = i32::try_from(hh * 60 + mm).ok()?;
        if negative { -total } else { total }
    };
    if !cur.is_empty() || year == 0 {
        return None;
    }
    let naive = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_time(NaiveTime::from_hms_micro_opt(hour, minute, second, micro)?);
    let offset = FixedOffset::east_opt(offset_minutes * 60)?;
    Some(
        offset
            .from_local_datetime(&naive)
            .single()?
            .with_timezone(&Utc),
    )
}

/// `\d{min,max}`, greedy, as a number.
fn digits(cur: &mut &str, min: usize, max: usize) -> Option<u32> {
    let n = cur.bytes().take(max).take_while(u8::is_ascii_digit).count();
    let (text, rest) = cur.split_at(n);
    *cur = rest;
    if n < min { None } else { text.parse().ok() }
}

/// One character out of `options`.
fn sep(cur: &mut &str, options: &str) -> Option<()> {
    let c = cur.chars().next().filter(|c| options.contains(*c))?;
    *cur = &cur[c.len_utf8()..];
    Some(())
}
