//! Business time (docs/metrics.md, speed to lead in business time): the seconds between two
//! instants that fall inside the company's opening hours, in its time zone, holidays excluded.
//! A lead at 02:00 starts counting at opening; one on Friday evening on Monday morning.

use super::facts::Secs;
use app::domain::settings::Settings;
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
pub struct Hours {
    tz: Tz,
    week: [Option<[u16; 2]>; 7],
    holidays: BTreeSet<NaiveDate>,
}

impl Hours {
    pub fn new(tz: Tz, settings: &Settings) -> Self {
        Hours { tz, week: settings.business_hours, holidays: settings.holidays.iter().copied().collect() }
    }

    /// The business seconds in `[from, to]`, counted no further than `cap` (a lead never
    /// answered needs only to know whether it passed the threshold).
    pub fn elapsed(&self, from: Secs, to: Secs, cap: Secs) -> Secs {
        if to <= from {
            return 0;
        }
        let (Some(first), Some(last)) = (self.day_of(from), self.day_of(to)) else { return 0 };
        let mut total: Secs = 0;
        let mut day = first;
        while day <= last && total < cap {
            if let Some([open, close]) = self.week[day.weekday().num_days_from_monday() as usize] {
                if !self.holidays.contains(&day) {
                    let (start, end) = (self.at(day, open), self.at(day, close));
                    total += (end.min(to) - start.max(from)).max(0);
                }
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        total.min(cap)
    }

    /// Whether the company is open at `at` (a weekday's hours, not a holiday): when the office
    /// is on duty for a new lead's notice.
    pub fn is_open(&self, at: Secs) -> bool {
        self.elapsed(at, at + 1, 1) > 0
    }

    /// At most how many days after a lead `threshold` business seconds have passed (a chunk of
    /// facts is settled only past it, `pass::pieces`). Every week has an open day (settings
    /// refuse a week with none) of at least the shortest opening; each holiday may take a
    /// week's only open day away.
    pub fn days_to_pass(&self, threshold: Secs) -> Secs {
        let shortest =
            self.week.iter().flatten().map(|[o, c]| Secs::from(c - o) * 60).min().unwrap_or(1).max(1);
        let open_days = (threshold + shortest - 1) / shortest;
        7 * (open_days + 1 + self.holidays.len() as Secs)
    }

    fn day_of(&self, t: Secs) -> Option<NaiveDate> {
        self.tz.timestamp_opt(t, 0).single().map(|d| d.date_naive())
    }

    /// `minutes` after local midnight of `day` as an instant (1440 is the next midnight; a time
    /// in a spring-forward gap is read an hour later, as clocks show it).
    fn at(&self, day: NaiveDate, minutes: u16) -> Secs {
        let midnight = day.and_time(NaiveTime::MIN);
        let local = midnight + Duration::minutes(minutes.into());
        match self.tz.from_local_datetime(&local).earliest() {
            Some(t) => t.timestamp(),
            None => self
                .tz
                .from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
                .map_or(local.and_utc().timestamp(), |t| t.timestamp()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Secs {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    fn hours() -> Hours {
        // Monday to Friday, 08:00–17:00.
        let settings = Settings { holidays: vec!["2026-12-25".parse().unwrap()], ..Settings::default() };
        Hours::new(chrono_tz::America::Chicago, &settings)
    }

    #[test]
    fn the_clock_stops_outside_opening_hours_and_on_holidays() {
        let h = hours();
        // Tuesday 02:00 Chicago → 08:10: ten business minutes.
        assert_eq!(h.elapsed(t("2026-12-01T08:00:00Z"), t("2026-12-01T14:10:00Z"), Secs::MAX), 600);
        // Friday 16:50 → Monday 08:05: ten minutes Friday, five Monday.
        assert_eq!(h.elapsed(t("2026-12-04T22:50:00Z"), t("2026-12-07T14:05:00Z"), Secs::MAX), 900);
        // Christmas (a Friday) counts nothing.
        assert_eq!(h.elapsed(t("2026-12-25T15:00:00Z"), t("2026-12-25T20:00:00Z"), Secs::MAX), 0);
        // Within the day, it is the clock.
        assert_eq!(h.elapsed(t("2026-12-01T15:00:00Z"), t("2026-12-01T15:07:30Z"), Secs::MAX), 450);
        // The cap stops the count early.
        assert_eq!(h.elapsed(t("2026-01-01T15:00:00Z"), t("2026-12-01T15:00:00Z"), 901), 901);
        // 15 minutes have passed within three weeks of anything, Christmas or not.
        assert_eq!(h.days_to_pass(900), 21);
    }
}
