//! Self-tests of the VirusTotal v3 mock (`support::vt_mock`): it must behave like the reference
//! note says the real service does, or tests built on it prove nothing.

use std::future::Future;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use reqwest::header::HeaderMap;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::support::vt_mock::{
    canonical_url, gunzip_stored, gzip_stored, md5_hex, sha1_hex, sha256_hex, url_id, url_sha256, Fault,
    MockConfig, Stats, VtMock, DEFAULT_API_KEY,
};

const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
const EICAR_SHA256: &str = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";
const EICAR_SHA1: &str = "3395856ce81f2b7382dee72602f798b642f14140";
const EICAR_MD5: &str = "44d88612fea8a8f36de82e1278abb02f";

const FILE_STAT_KEYS: [&str; 8] = [
    "confirmed-timeout",
    "failure",
    "harmless",
    "malicious",
    "suspicious",
    "timeout",
    "type-unsupported",
    "undetected",
];
const URL_STAT_KEYS: [&str; 5] = ["harmless", "malicious", "suspicious", "timeout", "undetected"];

fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("test runtime")
        .block_on(future)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request reaches the mock");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    Reply {
        status,
        headers,
        text,
    }
}

async fn get(client: &reqwest::Client, mock: &VtMock, path: &str) -> Reply {
    send(
        client
            .get(format!("{}{path}", mock.base_url()))
            .header("x-apikey", DEFAULT_API_KEY),
    )
    .await
}

async fn upload(client: &reqwest::Client, url: &str, content: &[u8], name: &str) -> Reply {
    let form = Form::new().part("file", Part::bytes(content.to_vec()).file_name(name.to_string()));
    send(
        client
            .post(url)
            .header("x-apikey", DEFAULT_API_KEY)
            .multipart(form),
    )
    .await
}

fn stat_keys(stats: &Value) -> Vec<String> {
    let mut keys: Vec<String> = stats.as_object().expect("stats object").keys().cloned().collect();
    keys.sort();
    keys
}

fn assert_json_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.content_type(), "application/json");
    assert_eq!(reply.error_code(), code, "{}", reply.text);
    assert!(reply.json()["error"]["message"].is_string());
}

#[test]
fn vt_mock_hash_helpers_match_known_vectors() {
    assert_eq!(sha256_hex(EICAR), EICAR_SHA256);
    assert_eq!(sha1_hex(EICAR), EICAR_SHA1);
    assert_eq!(md5_hex(EICAR), EICAR_MD5);
    assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    let long = vec![b'a'; 1000];
    assert_eq!(md5_hex(&long), "cabe45dcc9ae5b66ba86600cca6b8ba8");
    assert_eq!(sha1_hex(&long), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
    assert_eq!(
        url_sha256("https://www.virustotal.com"),
        "f1177df4692356280844e1d5af67cc4a9eccecf77aa61c229d483b7082c70a8e"
    );
    assert_eq!(canonical_url("http://a.example?q=1"), "http://a.example/?q=1");
    assert_eq!(canonical_url("http://a.example/x"), "http://a.example/x");
    assert_eq!(
        url_id("http://www.somedomain.com/this/is/my/url"),
        "aHR0cDovL3d3dy5zb21lZG9tYWluLmNvbS90aGlzL2lzL215L3VybA"
    );
    assert_eq!(
        url_id("https://ex.com/?q=~~~>>>"),
        "aHR0cHM6Ly9leC5jb20vP3E9fn5-Pj4-"
    );
    let big = vec![7u8; 70_000];
    assert_eq!(gunzip_stored(&gzip_stored(&big)).as_deref(), Some(&big[..]));
    assert_eq!(gunzip_stored(&gzip_stored(b"")).as_deref(), Some(&b""[..]));
}

#[test]
fn vt_mock_rejects_missing_and_unknown_keys() {
    let mock = VtMock::start(MockConfig::default());
    run(async {
        let client = client();
        let url = format!("{}/ip_addresses/8.8.8.8", mock.base_url());
        let missing = send(client.get(&url)).await;
        assert_json_error(&missing, 401, "AuthenticationRequiredError");
        assert_eq!(
            missing.json(),
            serde_json::json!({"error": {"code": "AuthenticationRequiredError", "message": "X-Apikey header is missing"}})
        );
        let wrong = send(client.get(&url).header("x-apikey", "nope")).await;
        assert_json_error(&wrong, 401, "WrongCredentialsError");
        // Header names are case-insensitive.
        let ok = send(client.get(&url).header("X-Apikey", DEFAULT_API_KEY)).await;
        assert_eq!(ok.status, 200);
        assert_eq!(ok.content_type(), "application/json");
    });
}

#[test]
fn vt_mock_serves_known_files_by_any_hash_and_404s_unknown_ones() {
    let mut config = MockConfig::default();
    config.add_file(EICAR, Stats::malicious(62));
    let bare = sha256_hex(b"some binary");
    config.files.insert(bare.to_ascii_uppercase(), Stats::clean());
    let mock = VtMock::start(config);
    run(async {
        let client = client();
        for id in [
            EICAR_SHA256.to_string(),
            EICAR_SHA256.to_ascii_uppercase(),
            EICAR_MD5.into(),
            EICAR_SHA1.into(),
        ] {
            let reply = get(&client, &mock, &format!("/files/{id}")).await;
            assert_eq!(reply.status, 200, "{id}");
            assert_eq!(reply.content_type(), "application/json");
            let data = &reply.json()["data"];
            assert_eq!(data["type"], "file");
            assert_eq!(data["id"], EICAR_SHA256);
            assert_eq!(
                data["links"]["self"],
                format!("{}/files/{EICAR_SHA256}", mock.base_url())
            );
            let attributes = &data["attributes"];
            assert_eq!(attributes["md5"], EICAR_MD5);
            assert_eq!(attributes["sha1"], EICAR_SHA1);
            assert_eq!(attributes["size"], 68);
            assert!(attributes["last_analysis_date"].is_i64());
            assert!(attributes["reputation"].as_i64().unwrap() < 0);
            assert!(attributes["total_votes"]["malicious"].is_u64());
            assert!(attributes.get("mock_unknown_attribute").is_some());
            assert_eq!(stat_keys(&attributes["last_analysis_stats"]), FILE_STAT_KEYS);
            assert_eq!(attributes["last_analysis_stats"]["malicious"], 62);
            let rows = attributes["last_analysis_results"].as_object().unwrap();
            assert_eq!(rows.len(), 62 + 60 + 10);
            assert!(rows.values().any(|r| r["result"].is_null()));
            assert!(rows
                .values()
                .any(|r| r["category"] == "malicious" && r["result"].is_string()));
        }
        // A file configured by sha256 only: stand-in md5/sha1 that also resolve.
        let reply = get(&client, &mock, &format!("/files/{bare}")).await;
        assert_eq!(reply.status, 200);
        let md5 = reply.json()["data"]["attributes"]["md5"]
            .as_str()
            .unwrap()
            .to_string();
        let by_md5 = get(&client, &mock, &format!("/files/{md5}")).await;
        assert_eq!(by_md5.json()["data"]["id"], bare.as_str());

        let unknown = sha256_hex(b"never seen");
        let reply = get(&client, &mock, &format!("/files/{unknown}")).await;
        assert_json_error(&reply, 404, "NotFoundError");
        assert!(reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&unknown));
        assert_json_error(
            &get(&client, &mock, "/files/not-a-hash").await,
            404,
            "NotFoundError",
        );
    });
}

#[test]
fn vt_mock_upload_is_queued_then_completed_then_reported() {
    let content = b"an unknown binary for the upload flow".to_vec();
    let sha256 = sha256_hex(&content);
    let mut config = MockConfig {
        polls_before_complete: 2,
        max_direct_upload: 4096,
        ..Default::default()
    };
    config.upload_verdicts.insert(sha256.clone(), Stats::malicious(7));
    let mock = VtMock::start(config);
    run(async {
        let client = client();
        let reply = upload(
            &client,
            &format!("{}/files", mock.base_url()),
            &content,
            "tool.exe",
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let descriptor = reply.json();
        let data = descriptor["data"].as_object().unwrap();
        assert_eq!(data["type"], "analysis");
        assert!(!data.contains_key("attributes"));
        let id = data["id"].as_str().unwrap().to_string();
        assert_eq!(
            data["links"]["self"],
            format!("{}/analyses/{id}", mock.base_url())
        );
        let decoded =
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&id).unwrap()).unwrap();
        let (md5, ts) = decoded.split_once(':').unwrap();
        assert_eq!(md5, md5_hex(&content));
        let ts: i64 = ts.parse().unwrap();

        // Not known until the analysis completes.
        assert_eq!(get(&client, &mock, &format!("/files/{sha256}")).await.status, 404);

        let encoded = id.replace('=', "%3D");
        for poll in 0..2 {
            let path = if poll == 0 {
                format!("/analyses/{encoded}")
            } else {
                format!("/analyses/{id}")
            };
            let reply = get(&client, &mock, &path).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            let body = reply.json();
            let attributes = &body["data"]["attributes"];
            assert_eq!(attributes["status"], "queued");
            assert_eq!(attributes["date"], ts);
            assert_eq!(attributes["results"], serde_json::json!({}));
            assert_eq!(stat_keys(&attributes["stats"]), FILE_STAT_KEYS);
            assert!(attributes["stats"].as_object().unwrap().values().all(|v| v == 0));
            assert_eq!(get(&client, &mock, &format!("/files/{sha256}")).await.status, 404);
        }
        let reply = get(&client, &mock, &format!("/analyses/{encoded}")).await;
        let body = reply.json();
        let attributes = &body["data"]["attributes"];
        assert_eq!(attributes["status"], "completed");
        assert_eq!(attributes["stats"]["malicious"], 7);
        assert_eq!(stat_keys(&attributes["stats"]), FILE_STAT_KEYS);
        assert_eq!(attributes["results"].as_object().unwrap().len(), 77);
        assert_eq!(body["data"]["id"], id.as_str());
        assert_eq!(
            body["data"]["links"]["item"],
            format!("{}/files/{sha256}", mock.base_url())
        );
        let file_info = &body["meta"]["file_info"];
        assert_eq!(file_info["sha256"], sha256.as_str());
        assert_eq!(file_info["sha1"], sha1_hex(&content));
        assert_eq!(file_info["size"], content.len());

        let report = get(&client, &mock, &format!("/files/{sha256}")).await;
        assert_eq!(report.status, 200);
        let attributes = &report.json()["data"]["attributes"];
        assert_eq!(attributes["last_analysis_stats"]["malicious"], 7);
        assert_eq!(attributes["last_analysis_date"], ts);
        assert_eq!(attributes["meaningful_name"], "tool.exe");
        // Real md5/sha1 of uploads resolve too, and the analysis item is the file.
        let by_md5 = get(&client, &mock, &format!("/files/{md5}")).await;
        assert_eq!(by_md5.json()["data"]["id"], sha256.as_str());
        let item = get(&client, &mock, &format!("/analyses/{encoded}/item")).await;
        assert_eq!(item.json()["data"]["id"], sha256.as_str());

        // Too big for POST /files.
        let reply = upload(
            &client,
            &format!("{}/files", mock.base_url()),
            &[0u8; 5000],
            "big.bin",
        )
        .await;
        assert_json_error(&reply, 413, "BadRequestError");
        let reply = send(
            client
                .post(format!("{}/files", mock.base_url()))
                .header("x-apikey", DEFAULT_API_KEY),
        )
        .await;
        assert_json_error(&reply, 400, "BadRequestError");
        assert_json_error(
            &get(&client, &mock, "/analyses/bm90LWFuLWlk").await,
            404,
            "NotFoundError",
        );
    });
}

#[test]
fn vt_mock_upload_url_is_absolute_single_use_and_limited() {
    let mock = VtMock::start(MockConfig {
        polls_before_complete: 0,
        max_upload_url_upload: 3 * 1024 * 1024,
        ..Default::default()
    });
    run(async {
        let client = client();
        let reply = get(&client, &mock, "/files/upload_url").await;
        assert_eq!(reply.status, 200);
        let upload_url = reply.json()["data"]
            .as_str()
            .expect("data is a bare string")
            .to_string();
        assert!(
            upload_url.starts_with(&format!("{}/_upload/", mock.origin())),
            "{upload_url}"
        );
        // Bigger than axum's default 2 MiB body limit, within the configured one.
        let content = vec![42u8; 2_500_000];
        let reply = upload(&client, &upload_url, &content, "big.bin").await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let id = reply.json()["data"]["id"].as_str().unwrap().to_string();
        let again = upload(&client, &upload_url, b"second", "x").await;
        assert_json_error(&again, 400, "BadRequestError");
        let bogus = upload(&client, &format!("{}/_upload/nope", mock.origin()), b"x", "x").await;
        assert_json_error(&bogus, 404, "NotFoundError");

        let completed = get(&client, &mock, &format!("/analyses/{id}")).await.json();
        assert_eq!(completed["data"]["attributes"]["status"], "completed");
        assert_eq!(completed["data"]["attributes"]["stats"]["malicious"], 0);
        assert_eq!(
            get(&client, &mock, &format!("/files/{}", sha256_hex(&content)))
                .await
                .status,
            200
        );

        let fresh = get(&client, &mock, "/files/upload_url").await.json()["data"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(fresh, upload_url);
        let reply = upload(&client, &fresh, &vec![1u8; 3 * 1024 * 1024 + 1], "huge.bin").await;
        assert_json_error(&reply, 413, "BadRequestError");
    });
}

#[test]
fn vt_mock_url_reports_by_base64_and_sha256_ids() {
    let mut config = MockConfig::default();
    config
        .urls
        .insert("http://evil.example/x".into(), Stats::malicious(5));
    config.urls.insert("http://a.example".into(), Stats::clean());
    let mock = VtMock::start(config);
    run(async {
        let client = client();
        let evil_sha = sha256_hex(b"http://evil.example/x");
        for id in [url_id("http://evil.example/x"), evil_sha.clone()] {
            let reply = get(&client, &mock, &format!("/urls/{id}")).await;
            assert_eq!(reply.status, 200, "{id}: {}", reply.text);
            let data = &reply.json()["data"];
            assert_eq!(data["type"], "url");
            assert_eq!(data["id"], evil_sha.as_str());
            assert_eq!(
                data["links"]["self"],
                format!("{}/urls/{evil_sha}", mock.base_url())
            );
            assert_eq!(data["attributes"]["url"], "http://evil.example/x");
            assert_eq!(
                stat_keys(&data["attributes"]["last_analysis_stats"]),
                URL_STAT_KEYS
            );
            assert_eq!(data["attributes"]["last_analysis_stats"]["malicious"], 5);
            assert!(data["attributes"]["last_analysis_date"].is_i64());
        }
        // Empty path: canonical form gets a "/".
        let canonical_sha = sha256_hex(b"http://a.example/");
        for id in [
            url_id("http://a.example"),
            url_id("http://a.example/"),
            canonical_sha.clone(),
        ] {
            let reply = get(&client, &mock, &format!("/urls/{id}")).await;
            assert_eq!(reply.status, 200, "{id}");
            assert_eq!(reply.json()["data"]["id"], canonical_sha.as_str());
        }
        let reply = get(
            &client,
            &mock,
            &format!("/urls/{}", url_id("http://unknown.example/")),
        )
        .await;
        assert_json_error(&reply, 404, "NotFoundError");
        let reply = get(&client, &mock, "/urls/thisurlidmakesnosenseatall").await;
        assert_json_error(&reply, 404, "NotFoundError");
    });
}

#[test]
fn vt_mock_url_submission_flow() {
    let mut config = MockConfig::default();
    config
        .submit_verdicts
        .insert("http://new.example/payload".into(), Stats::suspicious(2));
    let mock = VtMock::start(config);
    run(async {
        let client = client();
        let target = "http://new.example/payload";
        assert_eq!(
            get(&client, &mock, &format!("/urls/{}", url_id(target)))
                .await
                .status,
            404
        );
        let reply = send(
            client
                .post(format!("{}/urls", mock.base_url()))
                .header("x-apikey", DEFAULT_API_KEY)
                .form(&[("url", target)]),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let data = reply.json()["data"].clone();
        assert_eq!(data["type"], "analysis");
        assert!(data.get("attributes").is_none());
        let id = data["id"].as_str().unwrap().to_string();
        let sha = url_sha256(target);
        assert!(id.starts_with(&format!("u-{sha}-")), "{id}");
        assert!(id.rsplit('-').next().unwrap().parse::<i64>().is_ok());

        let queued = get(&client, &mock, &format!("/analyses/{id}")).await.json();
        assert_eq!(queued["data"]["attributes"]["status"], "queued");
        assert_eq!(stat_keys(&queued["data"]["attributes"]["stats"]), URL_STAT_KEYS);
        assert_eq!(
            queued["meta"]["url_info"],
            serde_json::json!({"id": sha, "url": target})
        );
        assert_eq!(
            get(&client, &mock, &format!("/urls/{}", url_id(target)))
                .await
                .status,
            404
        );
        let done = get(&client, &mock, &format!("/analyses/{id}")).await.json();
        assert_eq!(done["data"]["attributes"]["status"], "completed");
        assert_eq!(done["data"]["attributes"]["stats"]["suspicious"], 2);
        assert_eq!(
            done["data"]["links"]["item"],
            format!("{}/urls/{sha}", mock.base_url())
        );
        let report = get(&client, &mock, &format!("/urls/{}", url_id(target))).await;
        assert_eq!(report.status, 200);
        assert_eq!(
            report.json()["data"]["attributes"]["last_analysis_stats"]["suspicious"],
            2
        );

        // multipart/form-data is accepted too (vt-go); unlisted URLs come out clean.
        let form = Form::new().text("url", "https://other.example");
        let reply = send(
            client
                .post(format!("{}/urls", mock.base_url()))
                .header("x-apikey", DEFAULT_API_KEY)
                .multipart(form),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let id = reply.json()["data"]["id"].as_str().unwrap().to_string();
        assert!(id.starts_with(&format!("u-{}-", sha256_hex(b"https://other.example/"))));
        get(&client, &mock, &format!("/analyses/{id}")).await;
        let done = get(&client, &mock, &format!("/analyses/{id}")).await.json();
        assert_eq!(done["data"]["attributes"]["stats"]["malicious"], 0);

        let empty = send(
            client
                .post(format!("{}/urls", mock.base_url()))
                .header("x-apikey", DEFAULT_API_KEY)
                .form(&[("x", "y")]),
        )
        .await;
        assert_json_error(&empty, 400, "BadRequestError");
    });
}

#[test]
fn vt_mock_ip_reports() {
    let mut config = MockConfig::default();
    config.ips.insert("203.0.113.7".into(), Stats::malicious(4));
    let mock = VtMock::start(config);
    run(async {
        let client = client();
        let reply = get(&client, &mock, "/ip_addresses/203.0.113.7").await;
        assert_eq!(reply.status, 200);
        let data = &reply.json()["data"];
        assert_eq!(data["type"], "ip_address");
        assert_eq!(data["id"], "203.0.113.7");
        assert_eq!(
            data["links"]["self"],
            format!("{}/ip_addresses/203.0.113.7", mock.base_url())
        );
        let attributes = &data["attributes"];
        assert_eq!(stat_keys(&attributes["last_analysis_stats"]), URL_STAT_KEYS);
        assert_eq!(attributes["last_analysis_stats"]["malicious"], 4);
        assert!(attributes["asn"].is_u64());
        assert_eq!(attributes["network"], "203.0.113.0/24");
        assert!(attributes["as_owner"].is_string());
        assert!(attributes["last_analysis_date"].is_i64());

        // Every IP has a report; unlisted ones are clean and lack the optional date.
        let reply = get(&client, &mock, "/ip_addresses/2001:db8::1").await;
        assert_eq!(reply.status, 200);
        let attributes = &reply.json()["data"]["attributes"];
        assert_eq!(attributes["last_analysis_stats"]["malicious"], 0);
        assert!(attributes.get("last_analysis_date").is_none());

        assert_json_error(
            &get(&client, &mock, "/ip_addresses/999.1.2.3").await,
            400,
            "InvalidArgumentError",
        );
    });
}

#[test]
fn vt_mock_enforces_quotas_with_plain_429() {
    let mock = VtMock::start(MockConfig {
        quota_per_minute: Some(3),
        ..Default::default()
    });
    let daily = VtMock::start(MockConfig {
        quota_per_day: Some(2),
        ..Default::default()
    });
    run(async {
        let client = client();
        // Requests without a valid key do not count.
        let unauthenticated = send(client.get(format!("{}/ip_addresses/1.1.1.1", mock.base_url()))).await;
        assert_eq!(unauthenticated.status, 401);
        for _ in 0..3 {
            assert_eq!(get(&client, &mock, "/ip_addresses/1.1.1.1").await.status, 200);
        }
        let reply = send(
            client
                .get(format!("{}/ip_addresses/1.1.1.1", mock.base_url()))
                .header("x-apikey", DEFAULT_API_KEY)
                .header("accept-encoding", "gzip")
                .header("user-agent", "anteater-rs/0.1; gzip"),
        )
        .await;
        assert_json_error(&reply, 429, "QuotaExceededError");
        assert!(reply.headers.get("retry-after").is_none());
        assert!(reply.headers.get("content-encoding").is_none());
        // 404s count too: every request with a valid key does.
        mock.reset_quota();
        assert_eq!(get(&client, &mock, "/files/00").await.status, 404);
        assert_eq!(get(&client, &mock, "/ip_addresses/1.1.1.1").await.status, 200);
        assert_eq!(get(&client, &mock, "/ip_addresses/1.1.1.1").await.status, 200);
        assert_eq!(get(&client, &mock, "/ip_addresses/1.1.1.1").await.status, 429);

        assert_eq!(get(&client, &daily, "/ip_addresses/1.1.1.1").await.status, 200);
        assert_eq!(get(&client, &daily, "/ip_addresses/1.1.1.1").await.status, 200);
        assert_json_error(
            &get(&client, &daily, "/ip_addresses/1.1.1.1").await,
            429,
            "QuotaExceededError",
        );
    });
}

#[test]
fn vt_mock_injected_faults_are_consumed_in_order() {
    let mock = VtMock::start(MockConfig::default());
    mock.inject_faults(vec![
        Fault::Status503,
        Fault::Status504,
        Fault::NonJson502,
        Fault::MalformedJson200,
        Fault::Status401WrongCredentials,
        Fault::Status429QuotaExceeded,
        Fault::ApiError(400, "NotAvailableYet"),
    ]);
    assert_eq!(mock.pending_faults(), 7);
    run(async {
        let client = client();
        let path = "/ip_addresses/8.8.4.4";
        assert_json_error(&get(&client, &mock, path).await, 503, "TransientError");
        assert_json_error(&get(&client, &mock, path).await, 504, "DeadlineExceededError");
        let html = get(&client, &mock, path).await;
        assert_eq!(html.status, 502);
        assert!(html.content_type().starts_with("text/html"));
        assert!(serde_json::from_str::<Value>(&html.text).is_err());
        let malformed = get(&client, &mock, path).await;
        assert_eq!(malformed.status, 200);
        assert_eq!(malformed.content_type(), "application/json");
        assert!(serde_json::from_str::<Value>(&malformed.text).is_err());
        assert_json_error(&get(&client, &mock, path).await, 401, "WrongCredentialsError");
        assert_json_error(&get(&client, &mock, path).await, 429, "QuotaExceededError");
        assert_json_error(&get(&client, &mock, path).await, 400, "NotAvailableYet");
        assert_eq!(get(&client, &mock, path).await.status, 200);

        // A delay longer than the client's timeout makes it time out; the next request is served.
        mock.inject_faults(vec![
            Fault::Delay(Duration::from_millis(400)),
            Fault::Delay(Duration::from_millis(50)),
        ]);
        let timed_out = client
            .get(format!("{}{path}", mock.base_url()))
            .header("x-apikey", DEFAULT_API_KEY)
            .timeout(Duration::from_millis(100))
            .send()
            .await;
        assert!(timed_out.expect_err("times out").is_timeout());
        let started = std::time::Instant::now();
        assert_eq!(get(&client, &mock, path).await.status, 200);
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(mock.pending_faults(), 0);
    });
}

#[test]
fn vt_mock_records_every_request() {
    let mock = VtMock::start(MockConfig::default());
    let before = SystemTime::now();
    run(async {
        let client = client();
        send(client.get(format!("{}/files/abc?x=1&y=2", mock.base_url()))).await;
        get(&client, &mock, "/ip_addresses/1.2.3.4").await;
        send(
            client
                .post(format!("{}/urls", mock.base_url()))
                .header("x-apikey", "other-key")
                .form(&[("url", "http://x.example/")]),
        )
        .await;
        upload(&client, &format!("{}/files", mock.base_url()), b"12345", "f").await;
    });
    let requests = mock.requests();
    assert_eq!(requests.len(), 4);
    let first = &requests[0];
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("GET", "/api/v3/files/abc?x=1&y=2")
    );
    assert_eq!(
        (first.api_key.clone(), first.status, first.body_len),
        (None, 401, 0)
    );
    assert_eq!(requests[1].api_key.as_deref(), Some(DEFAULT_API_KEY));
    assert_eq!(requests[1].status, 200);
    assert_eq!(requests[2].api_key.as_deref(), Some("other-key"));
    assert_eq!(requests[2].status, 401);
    assert_eq!(
        requests[2].content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(requests[2].body_len, "url=http%3A%2F%2Fx.example%2F".len());
    assert_eq!(requests[3].method, "POST");
    assert_eq!(requests[3].status, 200);
    assert!(requests[3]
        .content_type
        .as_deref()
        .unwrap()
        .starts_with("multipart/form-data; boundary="));
    assert!(requests[3].body_len > 5);
    assert!(requests.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(requests
        .iter()
        .all(|r| r.at >= before && r.at <= SystemTime::now()));
    mock.clear_requests();
    assert!(mock.requests().is_empty());
}

#[test]
fn vt_mock_misc_endpoints_gzip_and_independence() {
    let mut config = MockConfig {
        analysis_not_found_polls: 1,
        polls_before_complete: 0,
        ..Default::default()
    };
    let sha256 = config.add_file(EICAR, Stats::malicious(3));
    config.upload_verdicts.insert(sha256.clone(), Stats::malicious(9));
    config
        .urls
        .insert("https://known.example/".into(), Stats::clean());
    let mock = VtMock::start(config);
    let other = VtMock::start(MockConfig::default());
    assert_ne!(mock.base_url(), other.base_url());
    run(async {
        let client = client();
        // Re-scan of a known file: the analysis id is the md5 form; 404 on the first poll (knob).
        let reply = send(
            client
                .post(format!("{}/files/{EICAR_MD5}/analyse", mock.base_url()))
                .header("x-apikey", DEFAULT_API_KEY),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let id = reply.json()["data"]["id"].as_str().unwrap().to_string();
        assert_eq!(get(&client, &mock, &format!("/analyses/{id}")).await.status, 404);
        let done = get(&client, &mock, &format!("/analyses/{id}")).await.json();
        assert_eq!(done["data"]["attributes"]["status"], "completed");
        let report = get(&client, &mock, &format!("/files/{sha256}")).await.json();
        assert_eq!(
            report["data"]["attributes"]["last_analysis_stats"]["malicious"],
            9
        );
        let rescan = send(
            client
                .post(format!(
                    "{}/urls/{}/analyse",
                    mock.base_url(),
                    url_id("https://known.example/")
                ))
                .header("x-apikey", DEFAULT_API_KEY),
        )
        .await;
        assert_eq!(rescan.status, 200);

        // Wrong method on a known path; unknown path.
        let reply = send(
            client
                .get(format!("{}/urls", mock.base_url()))
                .header("x-apikey", DEFAULT_API_KEY),
        )
        .await;
        assert_json_error(&reply, 405, "BadRequestError");
        assert_json_error(
            &get(&client, &mock, "/domains/x.example").await,
            404,
            "NotFoundError",
        );

        // Gzip only when asked the way the official clients ask; body still JSON after gunzip.
        let zipped = client
            .get(format!("{}/files/{sha256}", mock.base_url()))
            .header("x-apikey", DEFAULT_API_KEY)
            .header("accept-encoding", "gzip")
            .header("user-agent", "anteater-rs/0.1; gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(zipped.headers()["content-encoding"], "gzip");
        assert_eq!(zipped.headers()["content-type"], "application/json");
        let bytes = zipped.bytes().await.unwrap();
        let json: Value = serde_json::from_slice(&gunzip_stored(&bytes).expect("gzip")).unwrap();
        assert_eq!(json["data"]["id"], sha256.as_str());

        // Independent state.
        assert_eq!(
            get(&client, &other, &format!("/files/{sha256}")).await.status,
            404
        );
    });
    assert!(other.requests().len() == 1 && mock.requests().len() > 5);
    let url = format!("{}/ip_addresses/1.1.1.1", other.base_url());
    drop(other);
    run(async {
        assert!(
            client().get(url).send().await.is_err(),
            "the server is gone after drop"
        );
    });
}

#[test]
fn latency_delays_every_answer_and_uploads_are_counted() {
    let mock = VtMock::start(MockConfig {
        latency: Duration::from_millis(300),
        ..MockConfig::default()
    });
    run(async {
        let client = client();
        let started = std::time::Instant::now();
        let reply = get(&client, &mock, "/ip_addresses/8.8.8.8").await;
        assert_eq!(reply.status, 200);
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(mock.uploads(), 0);
        let reply = upload(&client, &format!("{}/files", mock.base_url()), EICAR, "eicar.com").await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(mock.uploads(), 1);
    });
}
