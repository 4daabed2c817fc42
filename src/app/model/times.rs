//! A time as an operator types it: `14:05`, `14:05:30`, `-15m`, or RFC 3339; read on the
//! clock the screen shows (UTC or local), against `now` (never a clock read here).

use chrono::{DateTime, Duration, Local, NaiveTime, TimeZone, Utc};

/// `:at 14:05`, `:at 14:05:30`, `:at -15m`, `:at 2026-11-24T14:05:00Z`.
pub fn parse_time(
    text: &str,
    now: DateTime<Utc>,
    utc: bool,
) -> Result<DateTime<Utc>, crate::app::model::input_error::InputError> {
    let t = text.trim();
    if let Some(ago) = t.strip_prefix('-') {
        let (n, unit) = ago.split_at(ago.find(|c: char| !c.is_ascii_digit()).unwrap_or(ago.len()));
        let n: i64 = n
            .parse()
            .map_err(|_| format!("`{t}`: expected -15m, -2h, -30s or -1d"))?;
        let d = match unit {
            "s" => Duration::seconds(n),
            "m" | "" => Duration::minutes(n),
            "h" => Duration::hours(n),
            "d" => Duration::days(n),
            _ => return Err(format!("`{t}`: expected -15m, -2h, -30s or -1d").into()),
        };
        return Ok(now - d);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    let time = NaiveTime::parse_from_str(t, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
        .map_err(|_| format!("`{t}`: expected HH:MM, HH:MM:SS, -15m or an RFC 3339 time"))?;
    // On the clock the screen shows, today; a time still to come today means yesterday.
    let at = if utc {
        now.date_naive().and_time(time).and_utc()
    } else {
        let local = now.with_timezone(&Local).date_naive().and_time(time);
        Local
            .from_local_datetime(&local)
            .earliest()
            .ok_or_else(|| format!("`{t}` does not exist today on this clock"))?
            .with_timezone(&Utc)
    };
    Ok(if at > now { at - Duration::days(1) } else { at })
}
