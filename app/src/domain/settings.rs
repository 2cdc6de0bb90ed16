//! A company's analytics settings: windows, the stale window, sold thresholds, targets, the
//! follow-up cadence. The server stores them as one JSON document per company
//! (`analytics_settings`; absent keys take METRICS.md's defaults, so a new setting never needs a
//! migration of old rows); the manager's settings screen edits the same type.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Lead → consultation counts consultations held within this many days of the lead.
    pub lead_to_consultation_days: u32,
    /// Close rate counts wins within this many days of the consultation.
    pub close_window_days: u32,
    /// A quote idle this long is "lost – no decision".
    pub stale_days: u32,
    /// Speed to lead: the shares contacted within these minutes.
    pub speed_thresholds_minutes: [u32; 2],
    /// A win counts as a sale at or above this amount, per service type (cents; default 0).
    pub sold_threshold_cents: BTreeMap<String, i64>,
    pub targets: Targets,
    /// Days after the visit a quote is followed up on (the reps' suggested next contact).
    pub follow_up_cadence_days: Vec<u32>,
    /// Opening hours per weekday, Monday first: `[open, close]` in minutes after local midnight,
    /// or none when closed. Speed to lead in business time stops the clock outside them.
    pub business_hours: [Option<[u16; 2]>; 7],
    /// Days the company is closed whatever the weekday (company-local dates).
    pub holidays: Vec<chrono::NaiveDate>,
    /// How much finished work a device keeps for use without signal, in days (open work,
    /// upcoming visits, customers, the price book and checklists are always kept):
    /// docs/sync.md, "What a device keeps".
    pub device_history_days: u32,
}

/// The default of [`Settings::device_history_days`].
pub const DEFAULT_DEVICE_HISTORY_DAYS: u32 = 90;

/// Monday to Friday, 08:00 to 17:00.
pub const DEFAULT_BUSINESS_HOURS: [Option<[u16; 2]>; 7] = [
    Some([480, 1020]),
    Some([480, 1020]),
    Some([480, 1020]),
    Some([480, 1020]),
    Some([480, 1020]),
    None,
    None,
];

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lead_to_consultation_days: 30,
            close_window_days: 60,
            stale_days: 45,
            speed_thresholds_minutes: [5, 15],
            sold_threshold_cents: BTreeMap::new(),
            targets: Targets::default(),
            follow_up_cadence_days: crate::domain::cadence::DEFAULT_CADENCE_DAYS.to_vec(),
            business_hours: DEFAULT_BUSINESS_HOURS,
            holidays: vec![],
            device_history_days: DEFAULT_DEVICE_HISTORY_DAYS,
        }
    }
}

/// Targets per KPI; the defaults are the "after" column of the source article's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Targets {
    pub speed_to_lead_minutes: f64,
    pub lead_to_consultation: f64,
    pub close_rate: f64,
    pub sales_cycle_days: f64,
    pub win_rate: f64,
    pub non_selling_share: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            speed_to_lead_minutes: 15.0,
            lead_to_consultation: 0.5,
            close_rate: 0.6,
            sales_cycle_days: 7.0,
            win_rate: 0.55,
            non_selling_share: 0.3,
        }
    }
}

impl Settings {
    /// Checks a manager's edit; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let days = [
            ("lead_to_consultation_days", self.lead_to_consultation_days),
            ("close_window_days", self.close_window_days),
            ("stale_days", self.stale_days),
        ];
        for (name, d) in days {
            if !(1..=730).contains(&d) {
                return Err(format!("{name}: must be between 1 and 730 days"));
            }
        }
        if self.speed_thresholds_minutes.iter().any(|&m| !(1..=10_080).contains(&m)) {
            return Err("speed_thresholds_minutes: each must be between 1 and 10080 minutes".into());
        }
        if let Some((k, _)) = self.sold_threshold_cents.iter().find(|(_, &v)| v < 0) {
            return Err(format!("sold_threshold_cents.{k}: cannot be negative"));
        }
        let cadence = &self.follow_up_cadence_days;
        if cadence.is_empty()
            || cadence.len() > 8
            || cadence.iter().any(|d| !(1..=365).contains(d))
            || cadence.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(
                "follow_up_cadence_days: 1 to 8 days after the visit, each 1 to 365, increasing (e.g. [1, 3, 7, 14])"
                    .into(),
            );
        }
        if self.business_hours.iter().all(Option::is_none) {
            return Err("business_hours: open at least one day a week".into());
        }
        const DAYS: [&str; 7] =
            ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
        for (day, hours) in DAYS.iter().zip(&self.business_hours) {
            if let Some([open, close]) = hours {
                if open >= close || *close > 1440 {
                    return Err(format!(
                        "business_hours.{day}: opening must be before closing, within the day"
                    ));
                }
            }
        }
        if !(14..=730).contains(&self.device_history_days) {
            return Err("device_history_days: between 14 and 730 days".into());
        }
        if self.holidays.len() > 60 {
            return Err("holidays: at most 60 days".into());
        }
        let t = &self.targets;
        for (name, share) in [
            ("targets.lead_to_consultation", t.lead_to_consultation),
            ("targets.close_rate", t.close_rate),
            ("targets.win_rate", t.win_rate),
            ("targets.non_selling_share", t.non_selling_share),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("{name}: a share between 0 and 1"));
            }
        }
        if t.speed_to_lead_minutes <= 0.0 || t.sales_cycle_days <= 0.0 {
            return Err("targets: speed_to_lead_minutes and sales_cycle_days must be positive".into());
        }
        Ok(())
    }

    /// A weekday's hours as typed: "08:00-17:00", or "closed" (or nothing).
    pub fn parse_hours(day: &str, raw: &str) -> Result<Option<[u16; 2]>, String> {
        let raw = raw.trim().to_ascii_lowercase();
        if raw.is_empty() || raw == "closed" {
            return Ok(None);
        }
        let wrong = || format!("{day}: write the hours like 08:00-17:00, or closed");
        let minutes = |t: &str| -> Result<u16, String> {
            let (h, m) = t.trim().split_once(':').ok_or_else(wrong)?;
            let (h, m): (u16, u16) = (h.parse().map_err(|_| wrong())?, m.parse().map_err(|_| wrong())?);
            if h > 24 || m > 59 || (h == 24 && m > 0) {
                return Err(wrong());
            }
            Ok(h * 60 + m)
        };
        let (open, close) = raw.split_once(['-', '–']).ok_or_else(wrong)?;
        let (open, close) = (minutes(open)?, minutes(close)?);
        if open >= close {
            return Err(format!("{day}: opening must be before closing"));
        }
        Ok(Some([open, close]))
    }

    pub fn format_hours(hours: Option<[u16; 2]>) -> String {
        match hours {
            None => "closed".into(),
            Some([o, c]) => format!("{:02}:{:02}-{:02}:{:02}", o / 60, o % 60, c / 60, c % 60),
        }
    }

    pub fn sold_threshold(&self, service_type: &str) -> i64 {
        self.sold_threshold_cents.get(service_type).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_hours_read_as_typed_and_write_back_the_same() {
        assert_eq!(Settings::parse_hours("monday", " 08:00-17:30 "), Ok(Some([480, 1050])));
        assert_eq!(Settings::parse_hours("sunday", "Closed"), Ok(None));
        assert_eq!(Settings::parse_hours("sunday", ""), Ok(None));
        assert!(Settings::parse_hours("monday", "17:00-08:00").unwrap_err().contains("before closing"));
        assert!(Settings::parse_hours("monday", "8am-5pm").unwrap_err().contains("like 08:00-17:00"));
        assert_eq!(Settings::format_hours(Some([480, 1050])), "08:00-17:30");
        let s = Settings { business_hours: [None; 7], ..Settings::default() };
        assert!(s.validate().unwrap_err().contains("at least one day"));
    }
}
