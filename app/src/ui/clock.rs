//! The company's clock: every time on a person's screens, and every day and time they pick, is in
//! the company's time zone (`Me::time_zone`), whatever zone the phone is set to — a follow-up at
//! 9:00 is 9:00 where the customer is, and the office, the technician and the reports agree.
//!
//! In the browser the zone's offsets come from `Intl.DateTimeFormat` (the browser's own zone
//! data), not from a copy of the tz database in the bundle (about 100 KB of wasm). On the server
//! (rendering) from `chrono-tz`. A device without a company zone (an old session) uses its own.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// The company's zone, as signed in.
fn zone() -> String {
    super::current_user().map(|me| me.time_zone).unwrap_or_default()
}

/// The company zone's offset from UTC at `t`.
pub fn offset_at(t: DateTime<Utc>) -> FixedOffset {
    offset_in(&zone(), t)
}

fn offset_in(zone: &str, t: DateTime<Utc>) -> FixedOffset {
    zone_offset(zone, t).unwrap_or_else(|| *t.with_timezone(&chrono::Local).offset())
}

#[cfg(feature = "hydrate")]
fn zone_offset(zone: &str, t: DateTime<Utc>) -> Option<FixedOffset> {
    use std::cell::RefCell;
    use wasm_bindgen::{JsCast, JsValue};
    if zone.is_empty() {
        return None;
    }
    thread_local! {
        // One formatter per zone: making one is far dearer than using it.
        static FORMAT: RefCell<Option<(String, js_sys::Intl::DateTimeFormat)>> = const { RefCell::new(None) };
    }
    let format = FORMAT.with(|cell| {
        let mut cell = cell.borrow_mut();
        if let Some((z, f)) = cell.as_ref() {
            if z == zone {
                return Some(f.clone());
            }
        }
        let options = js_sys::Object::new();
        for (k, v) in [
            ("timeZone", zone),
            ("hourCycle", "h23"),
            ("year", "numeric"),
            ("month", "numeric"),
            ("day", "numeric"),
            ("hour", "numeric"),
            ("minute", "numeric"),
            ("second", "numeric"),
        ] {
            js_sys::Reflect::set(&options, &k.into(), &v.into()).ok()?;
        }
        // Constructed through Reflect, so a zone this browser does not know is an error to
        // handle (the device's own zone), not an exception through the wasm.
        let intl = js_sys::Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
        let class = js_sys::Reflect::get(&intl, &"DateTimeFormat".into())
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()?;
        let args = js_sys::Array::of2(&"en-US".into(), &options);
        let f: js_sys::Intl::DateTimeFormat =
            js_sys::Reflect::construct(&class, &args).ok()?.unchecked_into();
        *cell = Some((zone.to_string(), f.clone()));
        Some(f)
    })?;
    let date = js_sys::Date::new(&JsValue::from_f64(t.timestamp_millis() as f64));
    let parts = format.format_to_parts(&date);
    let field = |name: &str| -> Option<u32> {
        parts.iter().find_map(|p| {
            let kind = js_sys::Reflect::get(&p, &"type".into()).ok()?.as_string()?;
            (kind == name)
                .then(|| js_sys::Reflect::get(&p, &"value".into()).ok()?.as_string()?.parse().ok())?
        })
    };
    let day = NaiveDate::from_ymd_opt(field("year")? as i32, field("month")?, field("day")?)?;
    let local = day.and_hms_opt(field("hour")?, field("minute")?, field("second")?)?;
    // Whole seconds: the formatter drops the milliseconds.
    let utc = chrono::Timelike::with_nanosecond(&t.naive_utc(), 0).unwrap_or(t.naive_utc());
    FixedOffset::east_opt((local - utc).num_seconds() as i32)
}

#[cfg(not(feature = "hydrate"))]
fn zone_offset(zone: &str, t: DateTime<Utc>) -> Option<FixedOffset> {
    #[cfg(feature = "ssr")]
    {
        let tz: chrono_tz::Tz = zone.parse().ok()?;
        Some(chrono::Offset::fix(t.with_timezone(&tz).offset()))
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (zone, t);
        None
    }
}

/// `t` on the company's clock.
pub fn local(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&offset_at(t))
}

/// `t` on the company's clock, formatted (`%H:%M`, `%b %-d`, …).
pub fn format(t: DateTime<Utc>, pattern: &str) -> String {
    local(t).format(pattern).to_string()
}

/// The company's date of `t`.
pub fn day_of(t: DateTime<Utc>) -> NaiveDate {
    local(t).date_naive()
}

/// Today, in the company.
pub fn today() -> NaiveDate {
    day_of(Utc::now())
}

/// A day and a time on the company's clock, as an instant: the offset is the zone's at that
/// moment (found by asking twice, which settles across a daylight-saving change). A time that
/// does not exist (skipped by the spring change) comes out an hour later, as a clock would read.
pub fn at(day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    at_in(&zone(), day, time)
}

fn at_in(zone: &str, day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    let naive = day.and_time(time);
    let guess = Utc.from_utc_datetime(&naive);
    let first = offset_in(zone, guess);
    let second = offset_in(zone, guess - Duration::seconds(first.local_minus_utc().into()));
    let with =
        |o: FixedOffset| Utc.from_utc_datetime(&(naive - Duration::seconds(o.local_minus_utc().into())));
    let t = with(second);
    // In the spring gap no instant reads `naive`: take the one the clock shows an hour on.
    let reads = |t: DateTime<Utc>| t.with_timezone(&offset_in(zone, t)).naive_local() == naive;
    Some(if reads(t) { t } else { with(first) })
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn a_picked_time_is_that_time_in_the_company_zone_across_daylight_saving() {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        let winter = at_in("America/Chicago", NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(), nine).unwrap();
        assert_eq!(winter.to_rfc3339(), "2026-12-07T15:00:00+00:00");
        let summer = at_in("America/Chicago", NaiveDate::from_ymd_opt(2026, 7, 7).unwrap(), nine).unwrap();
        assert_eq!(summer.to_rfc3339(), "2026-07-07T14:00:00+00:00");
        // The day after the spring change, and the change itself (02:30 does not exist).
        let after = at_in("America/Denver", NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(), nine).unwrap();
        assert_eq!(after.to_rfc3339(), "2026-03-09T15:00:00+00:00");
        let gap = at_in(
            "America/Denver",
            NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        )
        .unwrap();
        assert_eq!(offset_in("America/Denver", gap).local_minus_utc(), -6 * 3600);
    }

    #[test]
    fn times_read_in_the_company_zone_not_the_devices() {
        let t: DateTime<Utc> = "2026-12-05T02:30:00Z".parse().unwrap();
        assert_eq!(
            t.with_timezone(&offset_in("America/Los_Angeles", t)).format("%b %-d %H:%M").to_string(),
            "Dec 4 18:30"
        );
        assert_eq!(
            t.with_timezone(&offset_in("Europe/Berlin", t)).format("%b %-d %H:%M").to_string(),
            "Dec 5 03:30"
        );
    }
}
