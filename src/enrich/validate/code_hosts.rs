//! Code hosts: GitHub and GitLab, each asked who the token belongs to.

use super::providers::{judge_json, Answer, Call, Credential, Provider, Reply};

pub static GITHUB: Provider = Provider {
    id: "github",
    name: "GitHub",
    rules: &["github-token", "github-fine-grained-pat"],
    pair_with: None,
    base: "https://api.github.com",
    calls: "`GET /user` (`Authorization: Bearer`)",
    revoke: "https://github.com/settings/tokens",
    request: |c: &Credential| {
        Ok(Call::get("/user")
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .bearer(c.token("_")))
    },
    // 401 `Bad credentials` is GitHub's answer for an unknown or revoked token.
    judge: |r: &Reply| judge_json(r, "/login", "login", 401),
};

pub static GITLAB: Provider = Provider {
    id: "gitlab",
    name: "GitLab",
    rules: &["gitlab-pat"],
    pair_with: None,
    base: "https://gitlab.com",
    calls: "`GET /api/v4/personal_access_tokens/self` (`PRIVATE-TOKEN`)",
    revoke: "https://gitlab.com/-/user_settings/personal_access_tokens",
    request: |c: &Credential| {
        Ok(Call::get("/api/v4/personal_access_tokens/self")
            .secret_header("private-token", c.token("_-").into()))
    },
    judge: gitlab,
};

/// A revoked or expired token is still known to GitLab: the endpoint answers 401.
fn gitlab(reply: &Reply) -> Answer {
    match reply.status {
        200 if reply.at("/revoked") == Some(&serde_json::Value::Bool(true)) => {
            Answer::Revoked("the token is marked revoked".into())
        }
        _ => judge_json(reply, "/name", "token", 401),
    }
}
