//! Payments: Stripe and Square, asked for the account the key belongs to.

use super::providers::{judge_json, Call, Credential, Provider, Reply};

pub static STRIPE: Provider = Provider {
    id: "stripe",
    name: "Stripe",
    rules: &["stripe-live-key"],
    pair_with: None,
    base: "https://api.stripe.com",
    calls: "`GET /v1/account` (`Authorization: Bearer`)",
    revoke: "https://dashboard.stripe.com/apikeys",
    request: |c: &Credential| Ok(Call::get("/v1/account").bearer(c.token("_"))),
    judge: |r: &Reply| judge_json(r, "/id", "account", 401),
};

pub static SQUARE: Provider = Provider {
    id: "square",
    name: "Square",
    rules: &["square-token", "square-access-token"],
    pair_with: None,
    base: "https://connect.squareup.com",
    calls: "`GET /v2/merchants/me` (`Authorization: Bearer`)",
    revoke: "https://developer.squareup.com/apps",
    request: |c: &Credential| {
        Ok(Call::get("/v2/merchants/me")
            .header("square-version", "2024-01-18")
            .bearer(c.token("_-")))
    },
    judge: |r: &Reply| judge_json(r, "/merchant/id", "merchant", 401),
};
