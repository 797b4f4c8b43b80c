//! Loopback mocks of the providers `--validate` asks, one server per provider, each following
//! that provider's published API documentation: the method and path of the identity call, where
//! the key goes (a header, basic auth, the path, a SigV4 signature), and the documented bodies of
//! the accepted and the invalid-credential answers. A known token gets its configured behaviour;
//! any other token gets the provider's invalid-credential answer, as the real service does.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;

/// How the mock treats one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    Live,
    /// The invalid-credential answer (also what unknown tokens get).
    Revoked,
    /// 429 with `Retry-After: <secs>` for the first `times` requests, then live.
    RateLimited {
        times: usize,
        retry_after: u64,
    },
    /// 503.
    ServerError,
    /// Answers after this long.
    Slow(Duration),
    /// 200 with a body that is not the documented shape.
    Malformed,
    /// 302 to this URL.
    Redirect(String),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// `name: value` lines, names lowercased.
    pub headers: String,
    pub body: String,
    pub at: Instant,
}

impl Recorded {
    /// Everything the request carried, to search for a secret.
    pub fn everything(&self) -> String {
        format!("{} {}\n{}\n{}", self.method, self.path, self.headers, self.body)
    }
}

/// A provider's documented identity call and answers.
pub struct Spec {
    pub id: &'static str,
    pub method: Method,
    /// The path; for Telegram the part after the token.
    pub path: &'static str,
    /// The token the request carries, where the provider documents it.
    pub extract: fn(&HeaderMap, &str, &str) -> Option<String>,
    pub live: (u16, &'static str),
    pub revoked: (u16, &'static str),
    /// Other headers the provider requires (name, value): without them it answers 400.
    pub requires: &'static [(&'static str, &'static str)],
}

fn bearer(headers: &HeaderMap, _: &str, _: &str) -> Option<String> {
    header(headers, "authorization")?
        .strip_prefix("Bearer ")
        .map(str::to_string)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_string)
}

macro_rules! in_header {
    ($name:literal) => {
        |headers: &HeaderMap, _: &str, _: &str| header(headers, $name)
    };
}

fn basic_password(headers: &HeaderMap, _: &str, _: &str) -> Option<String> {
    let encoded = header(headers, "authorization")?
        .strip_prefix("Basic ")?
        .to_string();
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    (user == "api").then(|| password.to_string())
}

/// Telegram: `/bot<token>/getMe`.
fn telegram_token(_: &HeaderMap, path: &str, _: &str) -> Option<String> {
    let rest = path.strip_prefix("/bot")?;
    rest.strip_suffix("/getMe").map(str::to_string)
}

/// The secret access key the AWS mock knows for each key id.
pub static AWS_SECRETS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// AWS: the key id from a SigV4 `Authorization`, accepted only when the signature is right.
fn aws_key_id(headers: &HeaderMap, path: &str, body: &str) -> Option<String> {
    let auth = header(headers, "authorization")?;
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 Credential=")?;
    let (credential, rest) = rest.split_once(", SignedHeaders=")?;
    let (signed, signature) = rest.split_once(", Signature=")?;
    let mut parts = credential.split('/');
    let key_id = parts.next()?.to_string();
    let (date, region, service) = (parts.next()?, parts.next()?, parts.next()?);
    if (region, service) != ("us-east-1", "sts") || body != "Action=GetCallerIdentity&Version=2011-06-15" {
        return None;
    }
    let secrets = AWS_SECRETS.lock().unwrap();
    let Some((_, secret)) = secrets.iter().find(|(id, _)| *id == key_id) else {
        return Some(key_id); // an unknown key id: InvalidClientTokenId
    };
    let mut signed_headers: Vec<(String, String)> = signed
        .split(';')
        .map(|name| (name.to_string(), header(headers, name).unwrap_or_default()))
        .collect();
    let amz_date = header(headers, "x-amz-date")?;
    let payload = anteater::testing::sha256_hex(body.as_bytes());
    let scope = anteater::testing::Scope {
        date,
        region,
        service,
    };
    let (_, expected) = anteater::testing::signature(
        "POST",
        path,
        "",
        &mut signed_headers,
        &payload,
        &amz_date,
        &scope,
        secret,
    );
    (expected == signature)
        .then_some(key_id)
        .or(Some(BAD_SIGNATURE.into()))
}

/// What `aws_key_id` gives for a known key id whose signature is wrong.
const BAD_SIGNATURE: &str = "bad-signature";
const AWS_BAD_SIGNATURE: &str = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ErrorResponse>";
const AWS_LIVE: &str = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/deployer</Arn><UserId>AIDAEXAMPLEID</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata></GetCallerIdentityResponse>";
const AWS_REVOKED: &str = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ErrorResponse>";

/// Every provider the default ruleset can trigger, as documented.
pub fn specs() -> Vec<Spec> {
    use Method as M;
    vec![
        Spec {
            id: "github",
            method: M::GET,
            path: "/user",
            extract: bearer,
            live: (200, r#"{"login":"octocat","id":1,"type":"User"}"#),
            revoked: (
                401,
                r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}"#,
            ),
            requires: &[],
        },
        Spec {
            id: "cloudflare",
            method: M::GET,
            path: "/client/v4/user/tokens/verify",
            extract: bearer,
            live: (
                200,
                r#"{"result":{"id":"f267e341f3dd4697bd3b9f71dd96247f","status":"active"},"success":true,"errors":[],"messages":[{"code":10000,"message":"This API Token is valid and active","type":null}]}"#,
            ),
            revoked: (
                401,
                r#"{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}],"messages":[],"result":null}"#,
            ),
            requires: &[],
        },
        Spec {
            id: "notion",
            method: M::GET,
            path: "/v1/users/me",
            extract: bearer,
            live: (
                200,
                r#"{"object":"user","id":"16d84278-ab0e-484c-9bdd-b35da3bd8905","name":"Deploy bot","avatar_url":null,"type":"bot","bot":{"owner":{"type":"workspace","workspace":true},"workspace_name":"Acme"}}"#,
            ),
            revoked: (
                401,
                r#"{"object":"error","status":401,"code":"unauthorized","message":"API token is invalid."}"#,
            ),
            requires: &[("notion-version", "2022-06-28")],
        },
        Spec {
            id: "sentry",
            method: M::GET,
            path: "/api/0/organizations/",
            extract: bearer,
            live: (
                200,
                r#"[{"id":"2","slug":"acme","name":"Acme","status":{"id":"active","name":"active"}}]"#,
            ),
            revoked: (401, r#"{"detail":"Invalid token"}"#),
            requires: &[],
        },
        Spec {
            id: "gitlab",
            method: M::GET,
            path: "/api/v4/personal_access_tokens/self",
            extract: in_header!("private-token"),
            live: (
                200,
                r#"{"id":4,"name":"deploy token","revoked":false,"created_at":"2024-01-01T00:00:00.000Z","scopes":["read_api"],"user_id":3,"active":true,"expires_at":null}"#,
            ),
            revoked: (401, r#"{"message":"401 Unauthorized"}"#),
            requires: &[],
        },
        Spec {
            id: "slack",
            method: M::POST,
            path: "/api/auth.test",
            extract: bearer,
            live: (
                200,
                r#"{"ok":true,"url":"https://subarachnoid.slack.com/","team":"Subarachnoid Workspace","user":"grace","team_id":"T12345678","user_id":"W12345678"}"#,
            ),
            revoked: (200, r#"{"ok":false,"error":"invalid_auth"}"#),
            requires: &[],
        },
        Spec {
            id: "discord",
            method: M::GET,
            path: "/api/v10/users/@me",
            extract: |h, _, _| {
                header(h, "authorization")?
                    .strip_prefix("Bot ")
                    .map(str::to_string)
            },
            live: (
                200,
                r#"{"id":"80351110224678912","username":"deploybot","discriminator":"0","bot":true}"#,
            ),
            revoked: (401, r#"{"message":"401: Unauthorized","code":0}"#),
            requires: &[],
        },
        Spec {
            id: "telegram",
            method: M::GET,
            path: "",
            extract: telegram_token,
            live: (
                200,
                r#"{"ok":true,"result":{"id":123456789,"is_bot":true,"first_name":"Deploy","username":"deploy_bot"}}"#,
            ),
            revoked: (
                401,
                r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
            ),
            requires: &[],
        },
        Spec {
            id: "stripe",
            method: M::GET,
            path: "/v1/account",
            extract: bearer,
            live: (
                200,
                r#"{"id":"acct_1032D82eZvKYlo2C","object":"account","country":"US"}"#,
            ),
            revoked: (
                401,
                r#"{"error":{"message":"Invalid API Key provided: sk_live_****","type":"invalid_request_error"}}"#,
            ),
            requires: &[],
        },
        Spec {
            id: "square",
            method: M::GET,
            path: "/v2/merchants/me",
            extract: bearer,
            live: (
                200,
                r#"{"merchant":{"id":"DM7VKY8Q63GNP","business_name":"Apple A Day","country":"US","status":"ACTIVE"}}"#,
            ),
            revoked: (
                401,
                r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED","detail":"This request could not be authorized."}]}"#,
            ),
            requires: &[("square-version", "")],
        },
        Spec {
            id: "openai",
            method: M::GET,
            path: "/v1/models",
            extract: bearer,
            live: (
                200,
                r#"{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1686935002,"owned_by":"openai"}]}"#,
            ),
            revoked: (
                401,
                r#"{"error":{"message":"Incorrect API key provided: sk-proj-****","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
            ),
            requires: &[],
        },
        Spec {
            id: "anthropic",
            method: M::GET,
            path: "/v1/models",
            extract: in_header!("x-api-key"),
            live: (
                200,
                r#"{"data":[{"type":"model","id":"claude-sonnet-4-20250514","display_name":"Claude Sonnet 4"}],"has_more":false,"first_id":"claude-sonnet-4-20250514","last_id":"claude-sonnet-4-20250514"}"#,
            ),
            revoked: (
                401,
                r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
            ),
            requires: &[("anthropic-version", "2023-06-01")],
        },
        Spec {
            id: "huggingface",
            method: M::GET,
            path: "/api/whoami-v2",
            extract: bearer,
            live: (
                200,
                r#"{"type":"user","id":"5e67bd5b1009063689407478","name":"julien","fullname":"Julien"}"#,
            ),
            revoked: (401, r#"{"error":"Invalid credentials in Authorization header"}"#),
            requires: &[],
        },
        Spec {
            id: "aws",
            method: M::POST,
            path: "/",
            extract: aws_key_id,
            live: (200, AWS_LIVE),
            revoked: (403, AWS_REVOKED),
            requires: &[],
        },
        Spec {
            id: "sendgrid",
            method: M::GET,
            path: "/v3/scopes",
            extract: bearer,
            live: (200, r#"{"scopes":["mail.send","alerts.read"]}"#),
            revoked: (
                401,
                r#"{"errors":[{"field":null,"message":"authorization required"}]}"#,
            ),
            requires: &[],
        },
        Spec {
            id: "mailgun",
            method: M::GET,
            path: "/v3/domains",
            extract: basic_password,
            live: (
                200,
                r#"{"total_count":1,"items":[{"name":"mg.corp.test","state":"active"}]}"#,
            ),
            revoked: (401, "Forbidden"),
            requires: &[],
        },
        Spec {
            id: "digitalocean",
            method: M::GET,
            path: "/v2/account",
            extract: bearer,
            live: (
                200,
                r#"{"account":{"droplet_limit":25,"email":"sammy@corp.test","uuid":"b6fr89dbf6d9156cace5f3c78dc9851d957381ef","email_verified":true,"status":"active"}}"#,
            ),
            revoked: (
                401,
                r#"{"id":"unauthorized","message":"Unable to authenticate you."}"#,
            ),
            requires: &[],
        },
        Spec {
            id: "heroku",
            method: M::GET,
            path: "/account",
            extract: bearer,
            live: (
                200,
                r#"{"email":"username@corp.test","id":"01234567-89ab-cdef-0123-456789abcdef","verified":true}"#,
            ),
            revoked: (
                401,
                r#"{"id":"unauthorized","message":"Invalid credentials provided."}"#,
            ),
            requires: &[("accept", "application/vnd.heroku+json; version=3")],
        },
        Spec {
            id: "google",
            method: M::GET,
            path: "/v1beta/models",
            extract: in_header!("x-goog-api-key"),
            live: (
                200,
                r#"{"models":[{"name":"models/gemini-2.0-flash","displayName":"Gemini 2.0 Flash"}]}"#,
            ),
            revoked: (
                400,
                r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}"#,
            ),
            requires: &[],
        },
        Spec {
            id: "terraform",
            method: M::GET,
            path: "/api/v2/account/details",
            extract: bearer,
            live: (
                200,
                r#"{"data":{"id":"user-V3R563qtJNcExAkN","type":"users","attributes":{"username":"admin","email":"admin@corp.test"}}}"#,
            ),
            revoked: (401, r#"{"errors":[{"status":"401","title":"unauthorized"}]}"#),
            requires: &[],
        },
        Spec {
            id: "postman",
            method: M::GET,
            path: "/me",
            extract: in_header!("x-api-key"),
            live: (
                200,
                r#"{"user":{"id":12345678,"username":"taylor-lee","email":"taylor.lee@corp.test"}}"#,
            ),
            revoked: (
                401,
                r#"{"error":{"name":"AuthenticationError","message":"Invalid API Key. Every request requires a valid API Key to be sent."}}"#,
            ),
            requires: &[],
        },
        Spec {
            id: "linear",
            method: M::POST,
            path: "/graphql",
            extract: in_header!("authorization"),
            live: (
                200,
                r#"{"data":{"viewer":{"id":"2b8c4a1e-0000-4000-8000-000000000001","name":"Ada Lovelace"}}}"#,
            ),
            revoked: (
                400,
                r#"{"errors":[{"message":"Authentication required, not authenticated","extensions":{"type":"authentication error","code":"AUTHENTICATION_ERROR","userPresentableMessage":"You need to authenticate to access this operation."}}]}"#,
            ),
            requires: &[],
        },
        Spec {
            id: "doppler",
            method: M::GET,
            path: "/v3/me",
            extract: bearer,
            live: (
                200,
                r#"{"workplace":{"name":"Acme","slug":"acme"},"type":"service_token","name":"ci","success":true}"#,
            ),
            revoked: (401, r#"{"messages":["Invalid Auth token"],"success":false}"#),
            requires: &[],
        },
        Spec {
            id: "datadog",
            method: M::GET,
            path: "/api/v1/validate",
            extract: in_header!("dd-api-key"),
            live: (200, r#"{"valid":true}"#),
            revoked: (403, r#"{"errors":["Forbidden"]}"#),
            requires: &[],
        },
        Spec {
            id: "newrelic",
            method: M::POST,
            path: "/graphql",
            extract: in_header!("api-key"),
            live: (200, r#"{"data":{"actor":{"user":{"email":"ops@corp.test"}}}}"#),
            revoked: (401, r#"{"errors":[{"message":"Invalid API key"}]}"#),
            requires: &[],
        },
        Spec {
            id: "rubygems",
            method: M::GET,
            path: "/api/v1/gems.json",
            extract: in_header!("authorization"),
            live: (200, r#"[{"name":"corp-tool","downloads":12,"version":"1.0.0"}]"#),
            revoked: (
                401,
                "Access Denied. Please sign up for an account at https://rubygems.org",
            ),
            requires: &[],
        },
    ]
}

struct Shared {
    spec: Spec,
    tokens: Mutex<HashMap<String, Behaviour>>,
    seen: Mutex<HashMap<String, usize>>,
    requests: Mutex<Vec<Recorded>>,
    delay: Duration,
}

/// One provider's mock on a loopback port; stops when dropped.
pub struct ProviderMock {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ProviderMock {
    /// Serves `spec`, each answer after `delay`.
    pub fn start(spec: Spec, tokens: &[(&str, Behaviour)], delay: Duration) -> ProviderMock {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a mock port");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            spec,
            tokens: Mutex::new(tokens.iter().map(|(t, b)| (t.to_string(), b.clone())).collect()),
            seen: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
            delay,
        });
        let state = Arc::clone(&shared);
        let app = Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = Arc::clone(&state);
            async move { answer(&state, method, uri, headers, body).await }
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let server = tokio::spawn(async move { axum::serve(listener, app).await });
                let _ = rx.await;
                server.abort();
            });
            runtime.shutdown_background();
        });
        ProviderMock {
            shared,
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn id(&self) -> &'static str {
        self.shared.spec.id
    }

    /// `http://127.0.0.1:PORT`: what `ANTEATER_VALIDATE_URL_<ID>` is set to.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The variable that points anteater at this mock.
    pub fn variable(&self) -> String {
        format!("ANTEATER_VALIDATE_URL_{}", self.id().to_ascii_uppercase())
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.shared.requests.lock().unwrap().clear();
    }
}

impl Drop for ProviderMock {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn reply(status: u16, body: &str) -> Response {
    let content_type = if body.starts_with('<') {
        "text/xml"
    } else if body.starts_with('{') || body.starts_with('[') {
        "application/json"
    } else {
        "text/plain"
    };
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", content_type)],
        body.to_string(),
    )
        .into_response()
}

async fn answer(shared: &Shared, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    let header_text: String = headers
        .iter()
        .map(|(n, v)| format!("{}: {}\n", n.as_str(), String::from_utf8_lossy(v.as_bytes())))
        .collect();
    shared.requests.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        headers: header_text,
        body: body.clone(),
        at: Instant::now(),
    });
    tokio::time::sleep(shared.delay).await;
    let spec = &shared.spec;
    let path_ok = if spec.id == "telegram" {
        path.starts_with("/bot")
    } else {
        path == spec.path
    };
    if method != spec.method || !path_ok {
        return reply(404, r#"{"message":"Not Found"}"#);
    }
    for (name, value) in spec.requires {
        let given = header(&headers, name);
        if given.is_none() || (!value.is_empty() && given.as_deref() != Some(value)) {
            return reply(400, r#"{"message":"missing a required header"}"#);
        }
    }
    let Some(token) = (spec.extract)(&headers, uri.path(), &body) else {
        return reply(spec.revoked.0, spec.revoked.1);
    };
    if spec.id == "aws" && token == BAD_SIGNATURE {
        return reply(403, AWS_BAD_SIGNATURE);
    }
    let behaviour = shared.tokens.lock().unwrap().get(&token).cloned();
    let seen = {
        let mut seen = shared.seen.lock().unwrap();
        let count = seen.entry(token).or_insert(0);
        *count += 1;
        *count
    };
    match behaviour {
        Some(Behaviour::Live) => reply(spec.live.0, spec.live.1),
        Some(Behaviour::RateLimited { times, retry_after }) if seen <= times => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after.to_string())],
            r#"{"message":"rate limited"}"#.to_string(),
        )
            .into_response(),
        Some(Behaviour::RateLimited { .. }) => reply(spec.live.0, spec.live.1),
        Some(Behaviour::ServerError) => reply(503, r#"{"message":"Service Unavailable"}"#),
        Some(Behaviour::Slow(wait)) => {
            tokio::time::sleep(wait).await;
            reply(spec.live.0, spec.live.1)
        }
        Some(Behaviour::Malformed) => reply(200, "<html><body>Welcome to the captive portal</body></html>"),
        Some(Behaviour::Redirect(to)) => {
            (StatusCode::FOUND, [("location", to)], String::new()).into_response()
        }
        Some(Behaviour::Revoked) | None => reply(spec.revoked.0, spec.revoked.1),
    }
}
