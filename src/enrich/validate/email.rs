//! E-mail services: SendGrid and Mailgun.

use super::providers::{judge_json, Call, Credential, Provider, Reply};

pub static SENDGRID: Provider = Provider {
    id: "sendgrid",
    name: "SendGrid",
    rules: &["sendgrid-api-key"],
    pair_with: None,
    base: "https://api.sendgrid.com",
    calls: "`GET /v3/scopes` (`Authorization: Bearer`)",
    revoke: "https://app.sendgrid.com/settings/api_keys",
    request: |c: &Credential| Ok(Call::get("/v3/scopes").bearer(c.token("_-."))),
    judge: |r: &Reply| judge_json(r, "/scopes", "has scopes", 401),
};

pub static MAILGUN: Provider = Provider {
    id: "mailgun",
    name: "Mailgun",
    rules: &["mailgun-api-key"],
    pair_with: None,
    base: "https://api.mailgun.net",
    calls: "`GET /v3/domains` (basic auth `api:<key>`)",
    revoke: "https://app.mailgun.com/settings/api_security",
    request: |c: &Credential| Ok(Call::get("/v3/domains").basic("api", c.token("-"))),
    judge: |r: &Reply| judge_json(r, "/items", "lists domains", 401),
};
