//! Chat platforms: Slack, Discord and Telegram bots.

use super::providers::{judge_json, not_documented, partial, Answer, Call, Credential, Provider, Reply};

pub static SLACK: Provider = Provider {
    id: "slack",
    name: "Slack",
    rules: &["slack-token"],
    pair_with: None,
    base: "https://slack.com",
    calls: "`POST /api/auth.test` (`Authorization: Bearer`)",
    revoke: "https://api.slack.com/apps",
    request: |c: &Credential| {
        Ok(Call::post("/api/auth.test", "application/x-www-form-urlencoded", "").bearer(c.token("-")))
    },
    judge: slack,
};

/// Slack answers 200 either way; `ok:false` with one of the documented authentication errors
/// means the token is not valid.
fn slack(reply: &Reply) -> Answer {
    if reply.status != 200 {
        return not_documented(reply);
    }
    match (reply.at("/ok").and_then(|v| v.as_bool()), reply.str_at("/error")) {
        (Some(true), _) => {
            let user = reply.str_at("/user").map(partial).unwrap_or_default();
            let team = reply.str_at("/team").map(partial).unwrap_or_default();
            Answer::Live(format!("user {user} in team {team}"))
        }
        (
            Some(false),
            Some(
                error @ ("invalid_auth" | "not_authed" | "token_revoked" | "token_expired"
                | "account_inactive"),
            ),
        ) => Answer::Revoked(error.to_string()),
        _ => not_documented(reply),
    }
}

pub static DISCORD: Provider = Provider {
    id: "discord",
    name: "Discord",
    rules: &["discord-bot-token"],
    pair_with: None,
    base: "https://discord.com",
    calls: "`GET /api/v10/users/@me` (`Authorization: Bot`)",
    revoke: "https://discord.com/developers/applications",
    request: |c: &Credential| {
        Ok(Call::get("/api/v10/users/@me").secret_header("authorization", format!("Bot {}", c.token("_-."))))
    },
    judge: |r: &Reply| judge_json(r, "/username", "bot", 401),
};

pub static TELEGRAM: Provider = Provider {
    id: "telegram",
    name: "Telegram",
    rules: &["telegram-bot-token"],
    pair_with: None,
    base: "https://api.telegram.org",
    calls: "`GET /bot<token>/getMe` (the token in the path, as the Bot API documents)",
    revoke: "https://t.me/BotFather",
    request: |c: &Credential| Ok(Call::get(format!("/bot{}/getMe", c.token("_-:")))),
    judge: telegram,
};

fn telegram(reply: &Reply) -> Answer {
    match reply.status {
        200 if reply.at("/ok").and_then(|v| v.as_bool()) == Some(true) => {
            judge_json(reply, "/result/username", "bot", 401)
        }
        401 if reply.at("/ok").and_then(|v| v.as_bool()) == Some(false) => {
            Answer::Revoked("Unauthorized".into())
        }
        _ => not_documented(reply),
    }
}
