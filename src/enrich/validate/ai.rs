//! AI platforms: OpenAI, Anthropic and Hugging Face.

use super::providers::{judge_json, Call, Credential, Provider, Reply};

pub static OPENAI: Provider = Provider {
    id: "openai",
    name: "OpenAI",
    rules: &["openai-api-key"],
    pair_with: None,
    base: "https://api.openai.com",
    calls: "`GET /v1/models` (`Authorization: Bearer`)",
    revoke: "https://platform.openai.com/api-keys",
    request: |c: &Credential| Ok(Call::get("/v1/models").bearer(c.token("_-"))),
    judge: |r: &Reply| judge_json(r, "/data", "lists models", 401),
};

pub static ANTHROPIC: Provider = Provider {
    id: "anthropic",
    name: "Anthropic",
    rules: &["anthropic-api-key"],
    pair_with: None,
    base: "https://api.anthropic.com",
    calls: "`GET /v1/models` (`x-api-key`)",
    revoke: "https://console.anthropic.com/settings/keys",
    request: |c: &Credential| {
        Ok(Call::get("/v1/models")
            .header("anthropic-version", "2023-06-01")
            .secret_header("x-api-key", c.token("_-").into()))
    },
    judge: |r: &Reply| judge_json(r, "/data", "lists models", 401),
};

pub static HUGGINGFACE: Provider = Provider {
    id: "huggingface",
    name: "Hugging Face",
    rules: &["huggingface-token"],
    pair_with: None,
    base: "https://huggingface.co",
    calls: "`GET /api/whoami-v2` (`Authorization: Bearer`)",
    revoke: "https://huggingface.co/settings/tokens",
    request: |c: &Credential| Ok(Call::get("/api/whoami-v2").bearer(c.token("_"))),
    judge: |r: &Reply| judge_json(r, "/name", "user", 401),
};
