//! Developer services: Postman, Linear, Doppler, Datadog, New Relic, RubyGems, Sentry, Notion
//! and CircleCI.

use super::providers::{judge_json, not_documented, partial, Answer, Call, Credential, Provider, Reply};

pub static POSTMAN: Provider = Provider {
    id: "postman",
    name: "Postman",
    rules: &["postman-api-key"],
    pair_with: None,
    base: "https://api.getpostman.com",
    calls: "`GET /me` (`X-API-Key`)",
    revoke: "https://go.postman.co/settings/me/api-keys",
    request: |c: &Credential| Ok(Call::get("/me").secret_header("x-api-key", c.token("-").into())),
    judge: |r: &Reply| judge_json(r, "/user/username", "user", 401),
};

pub static LINEAR: Provider = Provider {
    id: "linear",
    name: "Linear",
    rules: &["linear-api-key"],
    pair_with: None,
    base: "https://api.linear.app",
    calls: "`POST /graphql` `{ viewer { id name } }` (`Authorization: <key>`)",
    revoke: "https://linear.app/settings/account/security",
    request: |c: &Credential| {
        Ok(Call::post(
            "/graphql",
            "application/json",
            r#"{"query":"{ viewer { id name } }"}"#,
        )
        .secret_header("authorization", c.token("_").into()))
    },
    judge: linear,
};

/// Linear answers a bad key with a GraphQL error whose code is `AUTHENTICATION_ERROR`.
fn linear(reply: &Reply) -> Answer {
    if reply.str_at("/errors/0/extensions/code") == Some("AUTHENTICATION_ERROR") {
        return Answer::Revoked("AUTHENTICATION_ERROR".into());
    }
    match reply.str_at("/data/viewer/name") {
        Some(name) if reply.status == 200 => Answer::Live(format!("user {}", partial(name))),
        _ => not_documented(reply),
    }
}

pub static DOPPLER: Provider = Provider {
    id: "doppler",
    name: "Doppler",
    rules: &["doppler-token"],
    pair_with: None,
    base: "https://api.doppler.com",
    calls: "`GET /v3/me` (`Authorization: Bearer`)",
    revoke: "https://dashboard.doppler.com/workplace/tokens",
    request: |c: &Credential| Ok(Call::get("/v3/me").bearer(c.token("."))),
    judge: |r: &Reply| judge_json(r, "/workplace/name", "workplace", 401),
};

pub static DATADOG: Provider = Provider {
    id: "datadog",
    name: "Datadog",
    rules: &["datadog-api-key"],
    pair_with: None,
    base: "https://api.datadoghq.com",
    calls: "`GET /api/v1/validate` (`DD-API-KEY`)",
    revoke: "https://app.datadoghq.com/organization-settings/api-keys",
    request: |c: &Credential| {
        let key = c.token("");
        // The rule also matches 40-character application keys, which this endpoint does not
        // take: asking with one would call a live key revoked.
        if key.len() != 32 {
            return Err("application keys are only checked together with an API key".into());
        }
        Ok(Call::get("/api/v1/validate").secret_header("dd-api-key", key.into()))
    },
    judge: |r: &Reply| match (r.status, r.at("/valid")) {
        (200, Some(serde_json::Value::Bool(true))) => Answer::Live("API key valid".into()),
        (403, _) => Answer::Revoked("HTTP 403 Forbidden".into()),
        _ => not_documented(r),
    },
};

pub static NEWRELIC: Provider = Provider {
    id: "newrelic",
    name: "New Relic",
    rules: &["new-relic-user-key"],
    pair_with: None,
    base: "https://api.newrelic.com",
    calls: "`POST /graphql` `{ actor { user { email } } }` (`API-Key`)",
    revoke: "https://one.newrelic.com/api-keys",
    request: |c: &Credential| {
        Ok(Call::post(
            "/graphql",
            "application/json",
            r#"{"query":"{ actor { user { email } } }"}"#,
        )
        .secret_header("api-key", c.token("-").into()))
    },
    judge: |r: &Reply| judge_json(r, "/data/actor/user/email", "user", 401),
};

pub static RUBYGEMS: Provider = Provider {
    id: "rubygems",
    name: "RubyGems",
    rules: &["rubygems-api-key"],
    pair_with: None,
    base: "https://rubygems.org",
    calls: "`GET /api/v1/gems.json` (`Authorization: <key>`)",
    revoke: "https://rubygems.org/profile/api_keys",
    request: |c: &Credential| {
        Ok(Call::get("/api/v1/gems.json").secret_header("authorization", c.token("_").into()))
    },
    judge: |r: &Reply| judge_json(r, "", "lists its gems", 401),
};

pub static SENTRY: Provider = Provider {
    id: "sentry",
    name: "Sentry",
    rules: &["sentry-token"],
    pair_with: None,
    base: "https://sentry.io",
    calls: "`GET /api/0/organizations/` (`Authorization: Bearer`)",
    revoke: "https://sentry.io/settings/account/api/auth-tokens/",
    request: |c: &Credential| Ok(Call::get("/api/0/organizations/").bearer(c.token("_=+/"))),
    judge: |r: &Reply| judge_json(r, "", "lists organizations", 401),
};

pub static NOTION: Provider = Provider {
    id: "notion",
    name: "Notion",
    rules: &["notion-token"],
    pair_with: None,
    base: "https://api.notion.com",
    calls: "`GET /v1/users/me` (`Authorization: Bearer`, `Notion-Version`)",
    revoke: "https://www.notion.so/profile/integrations",
    request: |c: &Credential| {
        Ok(Call::get("/v1/users/me")
            .header("notion-version", "2022-06-28")
            .bearer(c.token("_")))
    },
    judge: |r: &Reply| judge_json(r, "/name", "integration", 401),
};

pub static CIRCLECI: Provider = Provider {
    id: "circleci",
    name: "CircleCI",
    rules: &["circleci-token", "circleci-api-token"],
    pair_with: None,
    base: "https://circleci.com",
    calls: "`GET /api/v2/me` (`Circle-Token`)",
    revoke: "https://app.circleci.com/settings/user/tokens",
    request: |c: &Credential| Ok(Call::get("/api/v2/me").secret_header("circle-token", c.token("_").into())),
    judge: |r: &Reply| judge_json(r, "/login", "user", 401),
};
