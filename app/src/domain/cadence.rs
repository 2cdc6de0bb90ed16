//! The follow-up cadence: when to contact a customer again after the visit. The company's
//! rhythm is days after the visit (day 1, 3, 7, 14 by default); after the n-th attempt the next
//! one is due on the next cadence day still ahead, and once the cadence is used up, weekly.

use chrono::{DateTime, Duration, Utc};

pub const DEFAULT_CADENCE_DAYS: [u32; 4] = [1, 3, 7, 14];

/// What a contact attempt came to. `Booked` and `Lost` end the chase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactResult {
    NoAnswer,
    LeftMessage,
    Thinking,
    Booked,
    Lost,
}

impl ContactResult {
    pub const ALL: [ContactResult; 5] = [
        ContactResult::NoAnswer,
        ContactResult::LeftMessage,
        ContactResult::Thinking,
        ContactResult::Booked,
        ContactResult::Lost,
    ];

    /// The `outcome` an `activity.log` records.
    pub fn code(self) -> &'static str {
        match self {
            ContactResult::NoAnswer => "no_answer",
            ContactResult::LeftMessage => "left_message",
            ContactResult::Thinking => "talked_thinking",
            ContactResult::Booked => "talked_booked",
            ContactResult::Lost => "talked_lost",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ContactResult::NoAnswer => "No answer",
            ContactResult::LeftMessage => "Left message",
            ContactResult::Thinking => "Talked — thinking",
            ContactResult::Booked => "Talked — booked",
            ContactResult::Lost => "Talked — lost",
        }
    }

    /// Whether another follow-up should be scheduled after this result.
    pub fn keeps_chasing(self) -> bool {
        !matches!(self, ContactResult::Booked | ContactResult::Lost)
    }
}

/// The next follow-up after `attempts` contacts, for a visit at `visit`, as of `now`: the first
/// cadence day after the visit that is past the attempts made and still ahead of now (at least
/// tomorrow's same time); weekly after the cadence ends. Never in the past.
pub fn next_follow_up(
    cadence: &[u32],
    visit: DateTime<Utc>,
    attempts: usize,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let earliest = now + Duration::days(1);
    let planned =
        cadence.iter().skip(attempts).map(|d| visit + Duration::days(i64::from(*d))).find(|t| *t >= earliest);
    planned.unwrap_or_else(|| {
        // Past the cadence (or behind it): a week after the last contact, but not before tomorrow.
        (now + Duration::days(7)).max(earliest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap() + Duration::days(i64::from(d))
    }

    #[test]
    fn follows_the_cadence_from_the_visit() {
        let visit = day(0);
        // Right after the visit, no attempts: day 1.
        assert_eq!(next_follow_up(&DEFAULT_CADENCE_DAYS, visit, 0, day(0)), day(1));
        // One attempt on day 1: day 3. Two by day 3: day 7. Three by day 7: day 14.
        assert_eq!(next_follow_up(&DEFAULT_CADENCE_DAYS, visit, 1, day(1)), day(3));
        assert_eq!(next_follow_up(&DEFAULT_CADENCE_DAYS, visit, 2, day(3)), day(7));
        assert_eq!(next_follow_up(&DEFAULT_CADENCE_DAYS, visit, 3, day(7)), day(14));
    }

    #[test]
    fn never_suggests_the_past_and_goes_weekly_after_the_cadence() {
        let visit = day(0);
        // First attempt late, on day 5: day 3 is gone, so day 7.
        assert_eq!(next_follow_up(&DEFAULT_CADENCE_DAYS, visit, 1, day(5)), day(7));
        // Day 6.5 with one attempt: day 7 is less than a day away, so day 14.
        assert_eq!(next_follow_up(&DEFAULT_CADENCE_DAYS, visit, 1, day(6) + Duration::hours(12)), day(14));
        // All four used: a week from now.
        assert_eq!(next_follow_up(&DEFAULT_CADENCE_DAYS, visit, 4, day(14)), day(21));
        assert_eq!(next_follow_up(&[], visit, 0, day(2)), day(9));
    }

    #[test]
    fn booked_and_lost_end_the_chase() {
        let chasing: Vec<_> =
            ContactResult::ALL.iter().filter(|r| r.keeps_chasing()).map(|r| r.code()).collect();
        assert_eq!(chasing, ["no_answer", "left_message", "talked_thinking"]);
    }
}
