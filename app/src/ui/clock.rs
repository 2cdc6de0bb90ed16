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
    #[cfg(feature = "hydrate")]
    if let Some(offset) = page_table(zone, t) {
        return offset;
    }
    zone_offset(zone, t).unwrap_or_else(|| *t.with_timezone(&chrono::Local).offset())
}

/// The page's name for the company zone's table (`<meta name="fc-zone">`).
pub const ZONE_META: &str = "fc-zone";

/// A zone's offsets over a span of time, as the instants they change. The server writes the
/// company zone's table into each page (`ZONE_META`): building an `Intl.DateTimeFormat` for a
/// zone was the largest part of hydrating a first screen on a phone (the browser loads the
/// zone's data for it), and the screens' times are almost all within the span. Outside it, the
/// browser's Intl answers, as before.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneTable {
    zone: String,
    /// The span covered, in Unix seconds: `[from, until)`.
    from: i64,
    until: i64,
    /// (from this instant, the offset in seconds east of UTC), the first at `from`.
    changes: Vec<(i64, i32)>,
}

impl ZoneTable {
    /// The offset of `zone` at `t`, when this table is that zone's and covers `t`.
    pub fn offset(&self, zone: &str, t: DateTime<Utc>) -> Option<FixedOffset> {
        let s = t.timestamp();
        if zone != self.zone || s < self.from || s >= self.until {
            return None;
        }
        let at = self.changes.partition_point(|(start, _)| *start <= s);
        FixedOffset::east_opt(self.changes.get(at.checked_sub(1)?)?.1)
    }

    /// `zone|from|until|start:offset,start:offset,…`: a meta tag's content.
    pub fn to_meta(&self) -> String {
        let changes: Vec<String> = self.changes.iter().map(|(s, o)| format!("{s}:{o}")).collect();
        format!("{}|{}|{}|{}", self.zone, self.from, self.until, changes.join(","))
    }

    pub fn parse(meta: &str) -> Option<Self> {
        let mut parts = meta.split('|');
        let zone = parts.next()?.to_string();
        let from = parts.next()?.parse().ok()?;
        let until = parts.next()?.parse().ok()?;
        let changes = parts
            .next()?
            .split(',')
            .map(|c| {
                let (s, o) = c.split_once(':')?;
                Some((s.parse().ok()?, o.parse().ok()?))
            })
            .collect::<Option<Vec<(i64, i32)>>>()?;
        (changes.first()?.0 == from && changes.windows(2).all(|w| w[0].0 < w[1].0)).then_some(ZoneTable {
            zone,
            from,
            until,
            changes,
        })
    }

    /// `zone`'s table over `[from, until)`, from the tz database: its offset each day, and
    /// where a day's offset differs from the day before's, the second it changed.
    #[cfg(feature = "ssr")]
    pub fn of(zone: &str, from: DateTime<Utc>, until: DateTime<Utc>) -> Option<Self> {
        let tz: chrono_tz::Tz = zone.parse().ok()?;
        let offset = |s: i64| {
            let t = DateTime::from_timestamp(s, 0).unwrap_or_default();
            chrono::Offset::fix(t.with_timezone(&tz).offset()).local_minus_utc()
        };
        let (from, until) = (from.timestamp(), until.timestamp());
        let mut changes = vec![(from, offset(from))];
        let mut day = from;
        while day < until {
            let next = (day + 86_400).min(until);
            let now = offset(next);
            if now != changes.last()?.1 {
                // The change lies in (day, next]: the first second with the new offset.
                let (mut lo, mut hi) = (day, next);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if offset(mid) == now {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
                changes.push((hi, now));
            }
            day = next;
        }
        Some(ZoneTable { zone: zone.to_string(), from, until, changes })
    }
}

/// The company zone's table for a page (`ZONE_META`): two years back (a device's longest history
/// window) to a year ahead (visits and follow-ups booked).
pub fn page_meta(zone: &str) -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        let now = Utc::now();
        ZoneTable::of(zone, now - Duration::days(730), now + Duration::days(365)).map(|t| t.to_meta())
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = zone;
        None
    }
}

/// The table the page came with, for `zone` at `t`.
#[cfg(feature = "hydrate")]
fn page_table(zone: &str, t: DateTime<Utc>) -> Option<FixedOffset> {
    thread_local! {
        static TABLE: Option<ZoneTable> = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(&format!("meta[name={ZONE_META}]")).ok().flatten())
            .and_then(|m| m.get_attribute("content"))
            .and_then(|c| ZoneTable::parse(&c));
    }
    TABLE.with(|table| table.as_ref()?.offset(zone, t))
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
    fn a_zone_table_gives_the_tz_databases_offset_at_every_instant_it_covers() {
        let from: DateTime<Utc> = "2025-06-01T00:00:00Z".parse().unwrap();
        let until: DateTime<Utc> = "2027-06-01T00:00:00Z".parse().unwrap();
        // Two changes a year, none, a half-hour change, and one across the date line.
        for zone in ["America/Chicago", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Auckland"] {
            let table = ZoneTable::parse(&ZoneTable::of(zone, from, until).unwrap().to_meta()).unwrap();
            let tz: chrono_tz::Tz = zone.parse().unwrap();
            let mut t = from;
            while t < until {
                // Every 15 minutes, and the seconds either side of each change.
                let want = chrono::Offset::fix(t.with_timezone(&tz).offset());
                assert_eq!(table.offset(zone, t), Some(want), "{zone} at {t}");
                t += Duration::minutes(15);
            }
            for (start, offset) in &table.changes[1..] {
                let at = DateTime::from_timestamp(*start, 0).unwrap();
                assert_eq!(table.offset(zone, at).unwrap().local_minus_utc(), *offset, "{zone} at {at}");
                let before = table.offset(zone, at - Duration::seconds(1)).unwrap().local_minus_utc();
                assert_ne!(before, *offset, "{zone}: the change is at {at}, not later");
            }
            assert_eq!(table.offset(zone, until), None, "outside the span the browser's Intl answers");
            assert_eq!(table.offset(zone, from - Duration::seconds(1)), None);
            assert_eq!(table.offset("Europe/Berlin", from), None, "another zone's table says nothing");
        }
        assert_eq!(ZoneTable::of("America/Chicago", from, until).unwrap().changes.len(), 5);
        assert_eq!(ZoneTable::parse("America/Chicago|10|5|11:0"), None, "must start where it says");
        assert_eq!(ZoneTable::parse("nonsense"), None);
    }

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
