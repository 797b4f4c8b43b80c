//! AWS: STS `GetCallerIdentity`, which any valid key may call (no IAM permission needed) and
//! which changes nothing, signed with Signature Version 4 as AWS verifies it. The signer is
//! tested against the signatures AWS publishes in its SigV4 test suite.

use std::time::SystemTime;

use hmac::{Hmac, Mac};
use reqwest::header::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};

use super::providers::{partial, Answer, Call, Credential, Provider, Reply};
use crate::finding::hex;

pub static AWS: Provider = Provider {
    id: "aws",
    name: "AWS",
    rules: &["aws-access-key-id"],
    pair_with: Some("aws-secret-access-key"),
    base: "https://sts.amazonaws.com",
    calls: "`POST /` `Action=GetCallerIdentity` (STS, SigV4-signed, us-east-1)",
    revoke: "https://console.aws.amazon.com/iam/home#/security_credentials",
    request,
    judge,
};

const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

fn request(credential: &Credential) -> Result<Call, String> {
    let key_id = credential.token("");
    if credential.pair.is_none() {
        return Err("an AWS access key id is checked with its secret access key, and this file holds only one of them".into());
    }
    if !key_id.starts_with("AKIA") {
        return Err(
            "only long-term keys (AKIA…) can be checked: temporary keys need their session token".into(),
        );
    }
    let mut call = Call::post("/", "application/x-www-form-urlencoded; charset=utf-8", BODY);
    call.sigv4 = Some(("us-east-1", "sts"));
    Ok(call)
}

fn judge(reply: &Reply) -> Answer {
    let text = reply.text();
    match reply.status {
        200 => match element(text, "Arn") {
            Some(arn) => Answer::Live(format!("ARN {}", partial(arn))),
            None => super::providers::not_documented(reply),
        },
        403 if element(text, "Code") == Some("InvalidClientTokenId") => {
            Answer::Revoked("InvalidClientTokenId: no such access key".into())
        }
        403 if element(text, "Code") == Some("SignatureDoesNotMatch") => Answer::Unknown(
            "the access key id exists but the secret access key next to it does not match".into(),
        ),
        _ => super::providers::not_documented(reply),
    }
}

/// The text of the first `<name>` element.
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim())
}

/// Adds `x-amz-date` and `authorization` to `headers` for a request to `url`.
#[allow(clippy::too_many_arguments)]
pub fn sign_request(
    method: &reqwest::Method,
    url: &reqwest::Url,
    headers: &mut HeaderMap,
    body: &[u8],
    credential: &Credential,
    region: &str,
    service: &str,
    now: SystemTime,
) -> Result<(), String> {
    let pair = credential.pair.as_ref().ok_or("no secret access key")?;
    let key_id = credential.token("");
    let secret = super::providers::clean(pair.expose(), "/+");
    let amz_date = amz_date(now);
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let mut signed: Vec<(String, String)> =
        vec![("host".into(), host), ("x-amz-date".into(), amz_date.clone())];
    for (name, value) in headers.iter() {
        if name.as_str() == "content-type" {
            signed.push((
                name.as_str().to_string(),
                value.to_str().unwrap_or("").trim().to_string(),
            ));
        }
    }
    let scope = Scope {
        date: &amz_date[..8],
        region,
        service,
    };
    let path = if url.path().is_empty() { "/" } else { url.path() };
    let (signed_headers, signature) = signature(
        method.as_str(),
        path,
        url.query().unwrap_or(""),
        &mut signed,
        &hex(&Sha256::digest(body)),
        &amz_date,
        &scope,
        secret,
    );
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={key_id}/{}, SignedHeaders={signed_headers}, Signature={signature}",
        scope.string()
    );
    let mut value =
        HeaderValue::from_str(&authorization).map_err(|_| "the key id cannot be sent in a header")?;
    value.set_sensitive(true);
    headers.insert("x-amz-date", HeaderValue::from_str(&amz_date).expect("digits"));
    headers.insert(reqwest::header::AUTHORIZATION, value);
    Ok(())
}

/// The credential scope: date (YYYYMMDD), region, service.
pub struct Scope<'a> {
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

impl Scope<'_> {
    fn string(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.date, self.region, self.service)
    }
}

/// SigV4: the signed header list and the signature of a request. `headers` are (name, value)
/// pairs, lower-cased and sorted here; `path` is already URI-encoded; `query` is sorted here.
#[allow(clippy::too_many_arguments)]
pub fn signature(
    method: &str,
    path: &str,
    query: &str,
    headers: &mut [(String, String)],
    payload_hash: &str,
    amz_date: &str,
    scope: &Scope<'_>,
    secret: &str,
) -> (String, String) {
    for (name, value) in headers.iter_mut() {
        *name = name.to_ascii_lowercase();
        *value = value.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    headers.sort();
    let mut pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    pairs.sort_by_key(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (name.to_string(), value.to_string())
    });
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        pairs.join("&")
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        scope.string(),
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
    for part in [scope.region, scope.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    (signed_headers, hex(&hmac(&key, string_to_sign.as_bytes())))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `YYYYMMDDTHHMMSSZ` in UTC.
fn amz_date(now: SystemTime) -> String {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86400, secs % 86400);
    // Howard Hinnant's civil-from-days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"; // AWS's published example key
    const SCOPE: Scope<'static> = Scope {
        date: "20150830",
        region: "us-east-1",
        service: "service",
    };
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn vanilla_headers() -> Vec<(String, String)> {
        vec![
            ("Host".into(), "example.amazonaws.com".into()),
            ("X-Amz-Date".into(), "20150830T123600Z".into()),
        ]
    }

    #[test]
    fn get_vanilla_matches_the_aws_test_suite() {
        let (signed, sig) = signature(
            "GET",
            "/",
            "",
            &mut vanilla_headers(),
            EMPTY,
            "20150830T123600Z",
            &SCOPE,
            SECRET,
        );
        assert_eq!(signed, "host;x-amz-date");
        assert_eq!(
            sig,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn get_vanilla_query_order_key_case_matches_the_aws_test_suite() {
        let (_, sig) = signature(
            "GET",
            "/",
            "Param2=value2&Param1=value1",
            &mut vanilla_headers(),
            EMPTY,
            "20150830T123600Z",
            &SCOPE,
            SECRET,
        );
        assert_eq!(
            sig,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn dates_are_utc_basic_format() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160);
        assert_eq!(amz_date(at), "20150830T123600Z");
        assert_eq!(amz_date(SystemTime::UNIX_EPOCH), "19700101T000000Z");
        let leap = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_709_208_000);
        assert_eq!(amz_date(leap), "20240229T120000Z");
    }

    #[test]
    fn judge_reads_sts_answers() {
        let ok = Reply::new(
            200,
            b"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/Alice</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>".to_vec(),
        );
        assert!(matches!(judge(&ok), Answer::Live(who) if !who.contains("123456789012")));
        let gone = Reply::new(
            403,
            b"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code></Error></ErrorResponse>".to_vec(),
        );
        assert!(matches!(judge(&gone), Answer::Revoked(_)));
        let other = Reply::new(
            403,
            b"<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>".to_vec(),
        );
        assert!(matches!(judge(&other), Answer::Unknown(_)));
    }
}
