//! The rate a VirusTotal key allows (`4/1m`, `1000/1m`, `500/1d`): parsed from the command line
//! and shown back in the same form, with the safety margin the limiters enforce on top.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Longest accepted rate window; longer budgets belong in the daily quota.
const MAX_WINDOW: Duration = Duration::from_secs(31 * 86_400);

/// `requests` requests per `per`, parsed from `3/1m`, `4/60s`, `1000/1m`, `5/2s`, `10/1h`, `500/1d`
/// (also `3/min`, `4 / 60 s`, `5/500ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests: u32,
    pub per: Duration,
}

impl Rate {
    /// The window the limiter really enforces: the nominal one plus a safety margin of
    /// min(window/10, 1 s). A grant is stamped when the limiter says yes, but the request leaves
    /// the runner some milliseconds later (TLS, DNS, a busy runner) and network jitter can bunch
    /// requests from different jobs at VirusTotal, so `requests` grants spread over exactly one
    /// nominal window may arrive there inside a shorter one and trip its per-minute quota. The
    /// margin absorbs that; it costs at most 10 % of the throughput (1 s per minute for 4/1m).
    /// Example: 5/2s admits at most 5 grants in any 2.2 s.
    pub fn effective_window(self) -> Duration {
        self.per + (self.per / 10).min(Duration::from_secs(1))
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Rate, String> {
        let invalid = |why: &str| {
            format!(
                "invalid rate {text:?}: {why}; expected REQUESTS/DURATION such as 4/1m, 1000/1m, 5/2s, \
                 10/1h or 500/1d (units ms, s, m, h, d)"
            )
        };
        let (requests, per) = text.split_once('/').ok_or_else(|| invalid("no '/'"))?;
        let requests = requests.trim();
        if requests.is_empty() || !requests.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("the number of requests must be a positive whole number"));
        }
        let requests: u32 = requests
            .parse()
            .map_err(|_| invalid("the number of requests is too large"))?;
        if requests == 0 {
            return Err(invalid("the number of requests must be at least 1"));
        }
        let per = per.trim();
        let digits = per.find(|c: char| !c.is_ascii_digit()).unwrap_or(per.len());
        let amount: u64 = if digits == 0 {
            1
        } else {
            per[..digits]
                .parse()
                .map_err(|_| invalid("the duration is too large"))?
        };
        let unit_ms: u64 = match per[digits..].trim().to_ascii_lowercase().as_str() {
            "ms" | "msec" | "millisecond" | "milliseconds" => 1,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000,
            "d" | "day" | "days" => 86_400_000,
            "" => return Err(invalid("the duration has no unit")),
            _ => return Err(invalid("unknown duration unit")),
        };
        let millis = amount
            .checked_mul(unit_ms)
            .ok_or_else(|| invalid("the duration is too large"))?;
        if millis == 0 {
            return Err(invalid("the duration must be longer than zero"));
        }
        let per = Duration::from_millis(millis);
        if per > MAX_WINDOW {
            return Err(invalid(
                "the duration must be at most 31 days (use the daily quota for more)",
            ));
        }
        Ok(Rate { requests, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.per.as_millis();
        let (amount, unit) = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s")]
            .into_iter()
            .find(|(unit_ms, _)| millis >= *unit_ms && millis % unit_ms == 0)
            .map_or((millis, "ms"), |(unit_ms, unit)| (millis / unit_ms, unit));
        write!(f, "{}/{amount}{unit}", self.requests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Rate {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn parses_the_documented_forms() {
        let cases = [
            ("3/1m", 3, 60_000),
            ("4/60s", 4, 60_000),
            ("1000/1m", 1000, 60_000),
            ("5/2s", 5, 2_000),
            ("10/1h", 10, 3_600_000),
            ("500/1d", 500, 86_400_000),
            ("3/min", 3, 60_000),
            ("4 / 60 s", 4, 60_000),
            (" 4/1M ", 4, 60_000),
            ("5/500ms", 5, 500),
            ("2/3 minutes", 2, 180_000),
        ];
        for (text, requests, millis) in cases {
            assert_eq!(
                rate(text),
                Rate {
                    requests,
                    per: Duration::from_millis(millis)
                },
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_invalid_forms_with_clear_messages() {
        for text in [
            "",
            "4",
            "4/",
            "/1m",
            "0/1m",
            "-1/1m",
            "4/0s",
            "4/1x",
            "4/m1",
            "x/1m",
            "4/1.5m",
            "4/-1m",
            "1/1m/2",
            "99999999999/1m",
            "4/32d",
            "4/99999999999999999999d",
        ] {
            let err = text.parse::<Rate>().unwrap_err();
            assert!(
                err.contains("invalid rate") && err.contains("4/1m"),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn displays_in_the_largest_whole_unit_and_round_trips() {
        for (text, shown) in [
            ("4/60s", "4/1m"),
            ("3/min", "3/1m"),
            ("5/2s", "5/2s"),
            ("10/1h", "10/1h"),
            ("500/1d", "500/1d"),
            ("5/500ms", "5/500ms"),
            ("7/90s", "7/90s"),
        ] {
            assert_eq!(rate(text).to_string(), shown);
            assert_eq!(rate(shown), rate(text));
        }
    }

    #[test]
    fn effective_window_adds_a_tenth_capped_at_one_second() {
        assert_eq!(rate("5/2s").effective_window(), Duration::from_millis(2_200));
        assert_eq!(rate("4/1m").effective_window(), Duration::from_secs(61));
        assert_eq!(rate("5/500ms").effective_window(), Duration::from_millis(550));
    }
}
