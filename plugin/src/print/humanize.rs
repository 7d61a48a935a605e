//! Durations and times in the words upstream's CLI uses (argoproj/pkg's
//! humanize over go-humanize), so that columns read the same.

use k8s_openapi::jiff::Timestamp;
use k8s_openapi::jiff::tz::TimeZone;

const SECOND: i128 = 1_000_000_000;
const MINUTE: i128 = 60 * SECOND;
const HOUR: i128 = 60 * MINUTE;
const DAY: i128 = 24 * HOUR;
const WEEK: i128 = 7 * DAY;
const MONTH: i128 = 30 * DAY;
const YEAR: i128 = 12 * MONTH;
const LONG_TIME: i128 = 37 * YEAR;
/// Go's time.Duration saturates here; a zero start time lands on it.
const MAX_DURATION: i128 = i64::MAX as i128;

/// (below this, format, divide by); `{}` is the count, `%s` the label.
type Magnitudes = &'static [(i128, &'static str, i128)];

const SHORT: Magnitudes = &[
    (SECOND, "0s", SECOND),
    (2 * SECOND, "1s %s", 1),
    (MINUTE, "{}s %s", SECOND),
    (2 * MINUTE, "1m %s", 1),
    (HOUR, "{}m %s", MINUTE),
    (2 * HOUR, "1h %s", 1),
    (DAY, "{}h %s", HOUR),
    (2 * DAY, "1d %s", 1),
    (WEEK, "{}d %s", DAY),
];

const RELATIVE: Magnitudes = &[
    (SECOND, "0 seconds", SECOND),
    (2 * SECOND, "1 second %s", 1),
    (MINUTE, "{} seconds %s", SECOND),
    (2 * MINUTE, "1 minute %s", 1),
    (HOUR, "{} minutes %s", MINUTE),
    (2 * HOUR, "1 hour %s", 1),
    (DAY, "{} hours %s", HOUR),
    (2 * DAY, "1 day %s", 1),
    (WEEK, "{} days %s", DAY),
    (2 * WEEK, "1 week %s", 1),
    (MONTH, "{} weeks %s", WEEK),
    (2 * MONTH, "1 month %s", 1),
    (YEAR, "{} months %s", MONTH),
    (18 * MONTH, "1 year %s", 1),
    (2 * YEAR, "2 years %s", 1),
    (LONG_TIME, "{} years %s", YEAR),
    (i128::MAX, "a long while %s", 1),
];

/// go-humanize's CustomRelTime on a non-negative difference.
fn rel(diff: i128, label: &str, magnitudes: Magnitudes) -> String {
    let n = magnitudes.iter().position(|(d, ..)| *d > diff).unwrap_or(magnitudes.len() - 1);
    let (_, format, div) = magnitudes[n];
    format.replace("{}", &(diff / div).to_string()).replace("%s", label)
}

fn nanos_between(start: Option<Timestamp>, finish: Timestamp) -> i128 {
    match start {
        Some(s) => (finish.as_nanosecond() - s.as_nanosecond()).clamp(-MAX_DURATION, MAX_DURATION),
        None => MAX_DURATION,
    }
}

/// `RelativeDurationShort`: `0s`, `5s`, `1m`, `3h`, `2d`; an unfinished
/// span runs until now; nothing started is `0s`.
pub fn short_duration(start: Option<Timestamp>, finish: Option<Timestamp>, now: Timestamp) -> String {
    let diff = match (start, finish) {
        (None, None) => 0,
        (Some(s), None) => nanos_between(Some(s), now),
        (s, Some(f)) => nanos_between(s, f),
    };
    rel(diff.abs(), "", SHORT).trim().to_owned()
}

/// `RelativeDuration` for the header: `45 seconds`, `1 minute 5 seconds`.
pub fn long_duration(start: Option<Timestamp>, finish: Option<Timestamp>, now: Timestamp) -> String {
    let diff = match (start, finish) {
        (None, None) => 0,
        (Some(s), None) => nanos_between(Some(s), now),
        (s, Some(f)) => nanos_between(s, f),
    };
    duration(diff)
}

fn duration(d: i128) -> String {
    let truncated = rel(d.abs(), "", RELATIVE).trim().to_owned();
    let secs = d / SECOND;
    if d < MINUTE {
        truncated
    } else if d < HOUR {
        format!("{truncated} {} seconds", secs % 60)
    } else if d < DAY {
        format!("{truncated} {} minutes", (secs / 60) % 60)
    } else {
        format!("{truncated} {} hours", (secs / 3600) % 24)
    }
}

/// `Mon Jan 02 15:04:05 -0700 (3 minutes ago)`, in the given zone.
pub fn timestamp_in(ts: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    let zoned = ts.to_zoned(tz.clone());
    let diff = now.as_nanosecond() - ts.as_nanosecond();
    // go-humanize's default magnitudes are RELATIVE's, with "now" under a second.
    let ago = match diff {
        d if d.abs() < SECOND => "now".to_owned(),
        d if d < 0 => rel(-d, "from now", RELATIVE),
        d => rel(d, "ago", RELATIVE),
    };
    format!("{} ({ago})", zoned.strftime("%a %b %d %H:%M:%S %z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn short_durations_use_upstreams_magnitudes() {
        let t0 = at("2024-01-01T00:00:00Z");
        let cases = [
            (0, "0s"),
            (999, "0s"),
            (1_000, "1s"),
            (59_999, "59s"),
            (60_000, "1m"),
            (119_000, "1m"),
            (120_000, "2m"),
            (3_600_000, "1h"),
            (7_200_000, "2h"),
            (86_400_000, "1d"),
            (3 * 86_400_000, "3d"),
            (30 * 86_400_000, "30d"),
        ];
        for (ms, want) in cases {
            let t1 = Timestamp::from_millisecond(t0.as_millisecond() + ms).unwrap();
            assert_eq!(short_duration(Some(t0), Some(t1), t1), want, "{ms} ms");
        }
        assert_eq!(short_duration(None, None, t0), "0s");
        let later = Timestamp::from_millisecond(t0.as_millisecond() + 5_000).unwrap();
        assert_eq!(short_duration(Some(t0), None, later), "5s", "a running span ends now");
    }

    #[test]
    fn long_durations_have_up_to_two_units() {
        for (secs, want) in [
            (0, "0 seconds"),
            (1, "1 second"),
            (45, "45 seconds"),
            (65, "1 minute 5 seconds"),
            (3600 + 120, "1 hour 2 minutes"),
            (3 * 86400 + 7200, "3 days 2 hours"),
        ] {
            assert_eq!(duration(i128::from(secs) * SECOND), want);
        }
    }

    #[test]
    fn timestamps_read_like_go() {
        let ts = at("2020-06-02T16:04:21Z");
        let now = at("2020-06-02T16:07:30Z");
        assert_eq!(timestamp_in(ts, now, &TimeZone::UTC), "Tue Jun 02 16:04:21 +0000 (3 minutes ago)");
        assert_eq!(timestamp_in(ts, ts, &TimeZone::UTC), "Tue Jun 02 16:04:21 +0000 (now)");
    }
}
