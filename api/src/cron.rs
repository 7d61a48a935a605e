//! CronWorkflow schedules: upstream's syntax (five fields, `@hourly`...,
//! `@every 90s`) read by the croner crate, in an IANA time zone; and the
//! checks admission makes on a CronWorkflow's own fields.

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use std::time::Duration;

use crate::Problem;
use crate::kinds::CronWorkflowSpec;

/// A schedule; `@every` runs are counted from a start time.
#[derive(Clone, Debug)]
pub enum Schedule {
    Cron(Box<Cron>),
    Every(Duration),
}

/// More schedules than this in one CronWorkflow are refused: each costs a
/// search on every look at it.
pub const MAX_SCHEDULES: usize = 20;

/// `@every` shorter than this is refused: a tenant must not make the
/// controller create a workflow every millisecond.
pub const MIN_EVERY: Duration = Duration::from_secs(1);

pub fn parse(text: &str) -> Result<Schedule, String> {
    let t = text.trim();
    if let Some(d) = t.strip_prefix("@every") {
        let d = crate::duration::parse(d.trim())
            .map_err(|e| format!("{text:?}: @every needs a duration such as 90s: {e}"))?;
        if d < MIN_EVERY {
            return Err(format!("{text:?}: @every must be at least {}s", MIN_EVERY.as_secs()));
        }
        return Ok(Schedule::Every(d));
    }
    if t.split_whitespace().count() > 5 {
        return Err(format!("{text:?}: a schedule has five fields (minute hour day-of-month month day-of-week)"));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(t)
        .map(|c| Schedule::Cron(Box::new(c)))
        .map_err(|e| format!("{text:?} is not a cron schedule: {e}"))
}

/// The time zone schedules are read in: UTC unless named.
pub fn zone(name: Option<&str>) -> Result<TimeZone, String> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(TimeZone::UTC),
        Some(n) => TimeZone::get(n).map_err(|_| format!("{n:?} is not an IANA time zone (such as Europe/Paris)")),
    }
}

impl Schedule {
    /// The latest run time in `(after, now]`, if any. `@every` counts
    /// from `after` (the last run, or the CronWorkflow's creation).
    pub fn latest_due(&self, after: Timestamp, now: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        if now <= after {
            return None;
        }
        let t = match self {
            Schedule::Every(d) => {
                let step = d.as_secs_f64();
                let periods = (now.duration_since(after).as_secs_f64() / step).floor();
                if periods < 1.0 {
                    return None;
                }
                after.checked_add(Duration::from_secs_f64(periods * step)).ok()?
            }
            Schedule::Cron(c) => {
                let now_z = Zoned::new(now, tz.clone());
                c.find_previous_occurrence(&now_z, true).ok()?.timestamp()
            }
        };
        (t > after && t <= now).then_some(t)
    }

    /// The first run time after `t`.
    pub fn next_after(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        match self {
            Schedule::Every(d) => t.checked_add(*d).ok(),
            Schedule::Cron(c) => c.find_next_occurrence(&Zoned::new(t, tz.clone()), false).ok().map(|z| z.timestamp()),
        }
    }
}

/// Every schedule of a spec (`schedule` and `schedules`).
pub fn schedules(spec: &CronWorkflowSpec) -> Vec<&str> {
    spec.schedule
        .iter()
        .chain(&spec.schedules)
        .map(String::as_str)
        .filter(|s| !s.trim().is_empty())
        .collect()
}

/// What is wrong with a CronWorkflow's own fields (its `workflowSpec` is
/// checked as a workflow's, elsewhere).
pub fn check(spec: &CronWorkflowSpec) -> Vec<Problem> {
    let mut p = Vec::new();
    if spec.schedule.as_deref().is_some_and(|s| !s.trim().is_empty()) && !spec.schedules.is_empty() {
        p.push(Problem::new("spec.schedules", "set schedule or schedules, not both"));
    }
    if schedules(spec).len() > MAX_SCHEDULES {
        p.push(Problem::new("spec.schedules", format!("at most {MAX_SCHEDULES} schedules")));
        return p;
    }
    if schedules(spec).is_empty() {
        p.push(Problem::new("spec.schedules", "required: at least one cron schedule, such as \"0 * * * *\""));
    }
    if let Some(s) = &spec.schedule
        && let Err(e) = parse(s)
    {
        p.push(Problem::new("spec.schedule", e));
    }
    for (i, s) in spec.schedules.iter().enumerate() {
        if let Err(e) = parse(s) {
            p.push(Problem::new(format!("spec.schedules[{i}]"), e));
        }
    }
    if let Err(e) = zone(spec.timezone.as_deref()) {
        p.push(Problem::new("spec.timezone", e));
    }
    if let Some(c) = spec.concurrency_policy.as_deref()
        && !matches!(c, "" | "Allow" | "Forbid" | "Replace")
    {
        p.push(Problem::new("spec.concurrencyPolicy", format!("must be Allow, Forbid or Replace, not {c:?}")));
    }
    for (field, n) in [
        ("startingDeadlineSeconds", spec.starting_deadline_seconds),
        ("successfulJobsHistoryLimit", spec.successful_jobs_history_limit.map(i64::from)),
        ("failedJobsHistoryLimit", spec.failed_jobs_history_limit.map(i64::from)),
    ] {
        if let Some(n) = n.filter(|n| *n < 0) {
            p.push(Problem::new(format!("spec.{field}"), format!("must not be negative, not {n}")));
        }
    }
    for (field, expr) in [
        ("spec.when", spec.when.as_deref()),
        ("spec.stopStrategy.expression", spec.stop_strategy.as_ref().and_then(|s| s.expression.as_deref())),
    ] {
        if let Some(e) = expr
            && let Err(why) = crate::expr::compile(strip_braces(e))
        {
            p.push(Problem::new(field, format!("invalid expression {e:?}: {why}")));
        }
    }
    p
}

/// `when` is written `{{= expr }}` upstream; the stop strategy bare.
pub fn strip_braces(e: &str) -> &str {
    let t = e.trim();
    t.strip_prefix("{{=").and_then(|r| r.strip_suffix("}}")).map(str::trim).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("a timestamp")
    }

    #[test]
    fn upstream_syntax_parses_and_garbage_says_why() {
        for ok in [
            "* * * * *",
            "0 2 * * *",
            "*/5 9-17 * * MON-FRI",
            "@hourly",
            "@daily",
            "@every 90s",
            "0 0 1 1 *",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("* * *", "not a cron schedule"),
            ("61 * * * *", "not a cron schedule"),
            ("0 0 * * * * *", "five fields"),
            ("@every soon", "@every needs a duration"),
            ("@every 1ms", "at least 1s"),
            ("", "not a cron schedule"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn a_schedule_that_never_comes_costs_little_and_finds_nothing() {
        let utc = zone(None).expect("utc");
        let never = parse("0 0 30 2 *").expect("parses: February 30th");
        let started = std::time::Instant::now();
        assert_eq!(never.latest_due(at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"), &utc), None);
        assert_eq!(never.next_after(at("2026-01-01T00:00:00Z"), &utc), None);
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
        let spec: CronWorkflowSpec = serde_json::from_value(serde_json::json!({
            "schedules": vec!["* * * * *"; MAX_SCHEDULES + 1], "workflowSpec": {}}))
        .expect("a spec");
        assert!(check(&spec)[0].message.contains("at most 20 schedules"));
    }

    #[test]
    fn due_times_follow_the_schedule_in_its_time_zone() {
        let utc = zone(None).expect("utc");
        let s = parse("0 2 * * *").expect("daily at 2");
        assert_eq!(
            s.latest_due(at("2026-01-01T00:00:00Z"), at("2026-01-02T03:00:00Z"), &utc),
            Some(at("2026-01-02T02:00:00Z"))
        );
        assert_eq!(s.latest_due(at("2026-01-02T02:00:00Z"), at("2026-01-02T03:00:00Z"), &utc), None, "already run");
        assert_eq!(s.next_after(at("2026-01-02T02:00:00Z"), &utc), Some(at("2026-01-03T02:00:00Z")));
        let paris = zone(Some("Europe/Paris")).expect("a zone");
        assert_eq!(
            s.next_after(at("2026-01-02T00:00:00Z"), &paris),
            Some(at("2026-01-02T01:00:00Z")),
            "02:00 in Paris"
        );
        assert!(zone(Some("Mars/Olympus")).expect_err("no such zone").contains("IANA"));
        let every = parse("@every 10s").expect("every");
        assert_eq!(
            every.latest_due(at("2026-01-01T00:00:00Z"), at("2026-01-01T00:00:25Z"), &utc),
            Some(at("2026-01-01T00:00:20Z"))
        );
    }
}
