//! Cloud and hosting platforms: DigitalOcean, Heroku, Cloudflare, Google API keys, Terraform
//! Cloud and Netlify.

use super::providers::{judge_json, not_documented, Answer, Call, Credential, Provider, Reply};

pub static DIGITALOCEAN: Provider = Provider {
    id: "digitalocean",
    name: "DigitalOcean",
    rules: &["digitalocean-token"],
    pair_with: None,
    base: "https://api.digitalocean.com",
    calls: "`GET /v2/account` (`Authorization: Bearer`)",
    revoke: "https://cloud.digitalocean.com/account/api/tokens",
    request: |c: &Credential| Ok(Call::get("/v2/account").bearer(c.token("_"))),
    judge: |r: &Reply| judge_json(r, "/account/email", "account", 401),
};

pub static HEROKU: Provider = Provider {
    id: "heroku",
    name: "Heroku",
    rules: &["heroku-api-key", "heroku-api-key-v2"],
    pair_with: None,
    base: "https://api.heroku.com",
    calls: "`GET /account` (`Authorization: Bearer`, `Accept: application/vnd.heroku+json; version=3`)",
    revoke: "https://dashboard.heroku.com/account/applications",
    request: |c: &Credential| {
        Ok(Call::get("/account")
            .header("accept", "application/vnd.heroku+json; version=3")
            .bearer(c.token("-")))
    },
    judge: |r: &Reply| judge_json(r, "/email", "account", 401),
};

pub static CLOUDFLARE: Provider = Provider {
    id: "cloudflare",
    name: "Cloudflare",
    rules: &["cloudflare-api-token"],
    pair_with: None,
    base: "https://api.cloudflare.com",
    calls: "`GET /client/v4/user/tokens/verify` (`Authorization: Bearer`)",
    revoke: "https://dash.cloudflare.com/profile/api-tokens",
    request: |c: &Credential| Ok(Call::get("/client/v4/user/tokens/verify").bearer(c.token("_-"))),
    judge: cloudflare,
};

fn cloudflare(reply: &Reply) -> Answer {
    match (reply.status, reply.str_at("/result/status")) {
        (200, Some("active")) => Answer::Live("token active".into()),
        (200, Some(status @ ("disabled" | "expired"))) => Answer::Revoked(format!("token {status}")),
        (401, _) if reply.at("/success") == Some(&serde_json::Value::Bool(false)) => {
            Answer::Revoked("Invalid API Token".into())
        }
        _ => not_documented(reply),
    }
}

pub static GOOGLE: Provider = Provider {
    id: "google",
    name: "Google Cloud",
    rules: &["google-api-key"],
    pair_with: None,
    base: "https://generativelanguage.googleapis.com",
    calls: "`GET /v1beta/models` (`x-goog-api-key`)",
    revoke: "https://console.cloud.google.com/apis/credentials",
    request: |c: &Credential| {
        Ok(Call::get("/v1beta/models").secret_header("x-goog-api-key", c.token("_-").into()))
    },
    judge: google,
};

/// Google says `API_KEY_INVALID` for a key that does not exist; a key refused because the API
/// is not enabled for its project exists all the same.
fn google(reply: &Reply) -> Answer {
    let reason = reply.str_at("/error/details/0/reason");
    match (reply.status, reason) {
        (200, _) => judge_json(reply, "/models", "key accepted", 0),
        (400, Some("API_KEY_INVALID")) => Answer::Revoked("API_KEY_INVALID".into()),
        (403, Some("SERVICE_DISABLED")) => {
            Answer::Live("key exists (the API asked is not enabled for it)".into())
        }
        _ => not_documented(reply),
    }
}

pub static TERRAFORM: Provider = Provider {
    id: "terraform",
    name: "HCP Terraform",
    rules: &["terraform-cloud-token"],
    pair_with: None,
    base: "https://app.terraform.io",
    calls: "`GET /api/v2/account/details` (`Authorization: Bearer`)",
    revoke: "https://app.terraform.io/app/settings/tokens",
    request: |c: &Credential| {
        Ok(Call::get("/api/v2/account/details")
            .header("accept", "application/vnd.api+json")
            .bearer(c.token("_-.")))
    },
    judge: |r: &Reply| judge_json(r, "/data/attributes/username", "user", 401),
};

pub static NETLIFY: Provider = Provider {
    id: "netlify",
    name: "Netlify",
    rules: &["netlify-token", "netlify-access-token"],
    pair_with: None,
    base: "https://api.netlify.com",
    calls: "`GET /api/v1/user` (`Authorization: Bearer`)",
    revoke: "https://app.netlify.com/user/applications",
    request: |c: &Credential| Ok(Call::get("/api/v1/user").bearer(c.token("_-"))),
    judge: |r: &Reply| judge_json(r, "/email", "user", 401),
};
