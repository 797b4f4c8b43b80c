//! Recall of the default ruleset: realistic secrets of 60+ kinds, planted in realistic files at
//! known lines, must be found at those lines; placeholders next to them must not be. Bodies are
//! random on every run (the seed is printed; RECALL_SEED=<n> replays one), with correct
//! checksums where the format has one, so no rule can pass by knowing a fixed value.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::common::anteater;

/// How many planted kinds must be found for the test to pass (issue 8: 55 of 60).
const REQUIRED_SHARE: (usize, usize) = (55, 60);

/// A small xorshift generator: reproducible from its seed, good enough for test bodies.
struct Random(u64);

const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const DIGITS: &str = "0123456789";
const HEX: &str = "0123456789abcdef";

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick(&mut self, alphabet: &str, n: usize) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        (0..n)
            .map(|_| chars[(self.next() % chars.len() as u64) as usize])
            .collect()
    }

    fn alnum(&mut self, n: usize) -> String {
        self.pick(&format!("{UPPER}{LOWER}{DIGITS}"), n)
    }

    fn upper_alnum(&mut self, n: usize) -> String {
        self.pick(&format!("{UPPER}{DIGITS}"), n)
    }

    /// AWS key ids: base32 after the prefix.
    fn base32(&mut self, n: usize) -> String {
        self.pick(&format!("{UPPER}234567"), n)
    }

    fn hex(&mut self, n: usize) -> String {
        self.pick(HEX, n)
    }

    fn b64(&mut self, n: usize) -> String {
        self.pick(&format!("{UPPER}{LOWER}{DIGITS}+/"), n)
    }

    fn url64(&mut self, n: usize) -> String {
        self.pick(&format!("{UPPER}{LOWER}{DIGITS}_-"), n)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() & 0xff) as u8).collect()
    }

    fn password(&mut self) -> String {
        // Mixed classes, like a generated password.
        format!(
            "{}{}{}{}",
            self.pick(UPPER, 3),
            self.pick(LOWER, 5),
            self.pick(DIGITS, 3),
            // No '#' or '%': they would be URL syntax or a comment in the files planted here.
            self.pick("!^*-_+", 2)
        )
    }

    fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-a{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.hex(3),
            self.hex(12)
        )
    }

    /// A PEM body: `lines` lines of 64 base64 characters starting like DER (MII...).
    fn pem_body(&mut self, lines: usize) -> String {
        let mut body = format!("MII{}\n", self.b64(61));
        for _ in 1..lines {
            body.push_str(&self.b64(64));
            body.push('\n');
        }
        body
    }
}

/// GitHub's and npm's token checksum: CRC32 of the random part in base62, 6 characters.
fn base62_crc32(random: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = crc32fast::hash(random.as_bytes());
    let mut out = Vec::new();
    while n > 0 {
        out.push(ALPHABET[(n % 62) as usize]);
        n /= 62;
    }
    while out.len() < 6 {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

fn checksummed(prefix: &str, random: &mut Random) -> String {
    let body = random.alnum(30);
    format!("{prefix}{body}{}", base62_crc32(&body))
}

/// One planted secret: `secret` occurs once in `content`, on the line it must be found at.
struct Plant {
    kind: &'static str,
    path: &'static str,
    content: String,
    secret: String,
}

impl Plant {
    fn line(&self) -> u64 {
        let at = self
            .content
            .find(&self.secret)
            .unwrap_or_else(|| panic!("{}: secret not in content", self.kind));
        1 + self.content[..at].matches('\n').count() as u64
    }
}

fn plants(r: &mut Random) -> Vec<Plant> {
    let mut plants = Vec::new();
    let mut plant = |kind, path, content: String, secret: String| {
        plants.push(Plant {
            kind,
            path,
            content,
            secret,
        })
    };

    let key_id = format!("AKIA{}", r.base32(16));
    let secret_key = r.b64(40);
    plant(
        "aws-key-id-shell",
        "deploy/publish.sh",
        format!("#!/bin/sh\nset -eu\nexport AWS_ACCESS_KEY_ID={key_id}\naws s3 sync dist/ s3://bucket/\n"),
        key_id.clone(),
    );
    plant(
        "aws-secret-shell",
        "deploy/env.sh",
        format!("export AWS_DEFAULT_REGION=eu-west-1\nexport AWS_SECRET_ACCESS_KEY={secret_key}\n"),
        secret_key.clone(),
    );
    let key_id2 = format!("AKIA{}", r.base32(16));
    let secret_key2 = r.b64(40);
    plant(
        "aws-key-id-credentials-file",
        "home/ci/.aws/credentials",
        format!("[default]\naws_access_key_id = {key_id2}\naws_secret_access_key = {secret_key2}\n"),
        key_id2,
    );
    plant(
        "aws-secret-credentials-file",
        "home/ops/.aws/credentials",
        format!("[prod]\nregion = us-east-1\naws_secret_access_key = {secret_key2}\n"),
        secret_key2,
    );
    let secret_key3 = r.b64(40);
    plant(
        "aws-secret-boto3",
        "app/storage.py",
        format!(
            "import boto3\n\n\ndef client():\n    return boto3.client(\n        \"s3\",\n        aws_access_key_id=\"AKIA{}\",\n        aws_secret_access_key=\"{secret_key3}\",\n    )\n",
            r.base32(16)
        ),
        secret_key3,
    );
    let secret_key4 = r.b64(40);
    plant(
        "aws-secret-terraform",
        "infra/provider.tf",
        format!(
            "provider \"aws\" {{\n  region     = \"us-east-1\"\n  access_key = \"AKIA{}\"\n  secret_key = \"{secret_key4}\"\n}}\n",
            r.base32(16)
        ),
        secret_key4,
    );
    let ghp = checksummed("ghp_", r);
    plant(
        "github-ghp",
        "scripts/release.sh",
        format!("#!/bin/bash\nGITHUB_TOKEN={ghp} gh release create \"$TAG\"\n"),
        ghp,
    );
    let gho = checksummed("gho_", r);
    plant(
        "github-gho",
        "config/oauth.json",
        format!("{{\n  \"provider\": \"github\",\n  \"access_token\": \"{gho}\"\n}}\n"),
        gho,
    );
    let ghs = checksummed("ghs_", r);
    plant(
        "github-ghs",
        "bot/app.py",
        format!("import requests\n\nHEADERS = {{\"Authorization\": \"token {ghs}\"}}\n"),
        ghs,
    );
    let pat = format!("github_pat_11{}_{}", r.upper_alnum(20), r.alnum(59));
    plant(
        "github-fine-grained",
        "tools/sync.go",
        format!("package main\n\nconst token = \"{pat}\"\n"),
        pat,
    );
    let glpat = format!("glpat-{}", r.url64(20));
    plant(
        "gitlab-pat",
        "ci/mirror.sh",
        format!("git remote add mirror https://example.org/repo.git\nexport GITLAB_TOKEN={glpat}\n"),
        glpat,
    );
    let xoxb = format!(
        "xoxb-{}-{}-{}",
        r.pick(DIGITS, 12),
        r.pick(DIGITS, 13),
        r.alnum(24)
    );
    plant(
        "slack-bot-token",
        "services/notify/config.yaml",
        format!("slack:\n  channel: \"#deploys\"\n  bot_token: {xoxb}\n"),
        xoxb,
    );
    let xoxp = format!(
        "xoxp-{}-{}-{}-{}",
        r.pick(DIGITS, 10),
        r.pick(DIGITS, 12),
        r.pick(DIGITS, 13),
        r.hex(32)
    );
    plant(
        "slack-user-token",
        "scripts/slack_export.rb",
        format!(
            "require 'slack-ruby-client'\n\nSlack.configure do |config|\n  config.token = '{xoxp}'\nend\n"
        ),
        xoxp,
    );
    let webhook = format!(
        "https://hooks.slack.com/services/T{}/B{}/{}",
        r.upper_alnum(8),
        r.upper_alnum(10),
        r.alnum(24)
    );
    plant(
        "slack-webhook",
        "monitoring/alertmanager.yml",
        format!("receivers:\n  - name: team\n    slack_configs:\n      - api_url: '{webhook}'\n"),
        webhook,
    );
    let stripe = format!("sk_live_{}", r.alnum(99));
    plant(
        "stripe-secret",
        "billing/settings.py",
        format!(
            "STRIPE_PUBLISHABLE_KEY = \"pk_live_{}\"\nSTRIPE_SECRET_KEY = \"{stripe}\"\n",
            r.alnum(24)
        ),
        stripe,
    );
    let stripe_rk = format!("rk_live_{}", r.alnum(24));
    plant(
        "stripe-restricted",
        "billing/worker.js",
        format!("const stripe = require('stripe')('{stripe_rk}');\n"),
        stripe_rk,
    );
    let google = format!("AIza{}", r.url64(35));
    plant(
        "google-api-key",
        "web/src/firebase.js",
        format!("export const firebaseConfig = {{\n  apiKey: \"{google}\",\n  authDomain: \"app.firebaseapp.com\",\n}};\n"),
        google,
    );
    let sa_key = format!(
        "-----BEGIN PRIVATE KEY-----\\n{}\\n{}\\n-----END PRIVATE KEY-----\\n",
        format_args!("MII{}", r.b64(61)),
        r.b64(64)
    );
    plant(
        "google-service-account",
        "secrets/service-account.json",
        format!(
            "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"prod-1234\",\n  \"private_key_id\": \"{}\",\n  \"private_key\": \"{sa_key}\",\n  \"client_email\": \"ci@prod-1234.iam.gserviceaccount.com\"\n}}\n",
            r.hex(40)
        ),
        sa_key,
    );
    let account_key = format!("{}==", r.b64(86));
    plant(
        "azure-storage-connection-string",
        "src/Web/appsettings.json",
        format!(
            "{{\n  \"Storage\": {{\n    \"ConnectionString\": \"DefaultEndpointsProtocol=https;AccountName=prodfiles;AccountKey={account_key};EndpointSuffix=core.windows.net\"\n  }}\n}}\n"
        ),
        account_key,
    );
    let azure_ad = format!("{}8Q~{}", r.alnum(3), r.url64(34));
    plant(
        "azure-ad-client-secret",
        "deploy/azure.env",
        format!("AZURE_TENANT_ID={}\nAZURE_CLIENT_SECRET={azure_ad}\n", r.uuid()),
        azure_ad,
    );
    for (kind, path, header) in [
        ("private-key-rsa", "certs/server.key", "RSA PRIVATE KEY"),
        ("private-key-ec", "certs/ec.key", "EC PRIVATE KEY"),
        ("private-key-dsa", "legacy/dsa.pem", "DSA PRIVATE KEY"),
        ("private-key-pkcs8", "config/tls/key.pem", "PRIVATE KEY"),
        (
            "private-key-encrypted-pkcs8",
            "config/tls/enc.pem",
            "ENCRYPTED PRIVATE KEY",
        ),
    ] {
        let begin = format!("-----BEGIN {header}-----");
        plant(
            kind,
            path,
            format!("{begin}\n{}-----END {header}-----\n", r.pem_body(12)),
            begin,
        );
    }
    let openssh = "-----BEGIN OPENSSH PRIVATE KEY-----".to_string();
    plant(
        "private-key-openssh",
        "deploy/keys/id_ed25519",
        format!(
            "{openssh}\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
            r.b64(70)
        ),
        openssh,
    );
    let pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----".to_string();
    plant(
        "private-key-pgp",
        "release/signing-key.asc",
        format!(
            "{pgp}\n\nlQOYBG{}\n{}\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----\n",
            r.b64(58),
            r.b64(64)
        ),
        pgp,
    );
    let putty = "PuTTY-User-Key-File-3: ssh-ed25519".to_string();
    plant(
        "private-key-putty",
        "ops/jump.ppk",
        format!(
            "{putty}\nEncryption: none\nComment: ops\nPublic-Lines: 2\n{}\n{}\nPrivate-Lines: 1\n{}\nPrivate-MAC: {}\n",
            r.b64(64),
            r.b64(20),
            r.b64(44),
            r.hex(64)
        ),
        putty,
    );
    let npm = checksummed("npm_", r);
    plant(
        "npm-token",
        "frontend/.npmrc",
        format!("registry=https://npm.registry.example/\n//npm.registry.example/:_authToken={npm}\n"),
        npm,
    );
    let pypi = format!("pypi-AgEIcHlwaS5vcmc{}", r.url64(120));
    plant(
        "pypi-token",
        "home/dev/.pypirc",
        format!("[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = {pypi}\n"),
        pypi,
    );
    let dockerhub = format!("dckr_pat_{}", r.url64(27));
    plant(
        "docker-hub-pat",
        ".github/workflows/image.yml",
        format!(
            "jobs:\n  push:\n    steps:\n      - run: echo \"{dockerhub}\" | docker login -u builder --password-stdin\n"
        ),
        dockerhub,
    );
    let twilio = format!("SK{}", r.hex(32));
    plant(
        "twilio-api-key",
        "sms/client.rb",
        format!(
            "TWILIO_ACCOUNT_SID = 'AC{}'\nTWILIO_API_KEY = '{twilio}'\n",
            r.hex(32)
        ),
        twilio,
    );
    let sendgrid = format!("SG.{}.{}", r.url64(22), r.url64(43));
    plant(
        "sendgrid-api-key",
        "mailer/send.py",
        format!("from sendgrid import SendGridAPIClient\n\nsg = SendGridAPIClient(\"{sendgrid}\")\n"),
        sendgrid,
    );
    let mailgun = format!("key-{}", r.hex(32));
    plant(
        "mailgun-api-key",
        "mailer/mailgun.php",
        format!("<?php\n$mg = Mailgun::create('{mailgun}');\n"),
        mailgun,
    );
    let heroku = r.uuid();
    plant(
        "heroku-api-key",
        "deploy/heroku.sh",
        format!("#!/bin/sh\nexport HEROKU_API_KEY={heroku}\nheroku container:release web\n"),
        heroku,
    );
    let digitalocean = format!("dop_v1_{}", r.hex(64));
    plant(
        "digitalocean-token",
        "infra/do.tfvars",
        format!("region   = \"ams3\"\ndo_token = \"{digitalocean}\"\n"),
        digitalocean,
    );
    let vault = format!("hvs.{}", r.url64(91));
    plant(
        "vault-token",
        "ci/vault-login.sh",
        format!("export VAULT_ADDR=https://vault.internal:8200\nexport VAULT_TOKEN={vault}\n"),
        vault,
    );
    let jwt = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(format!(
            r#"{{"sub":"{}","role":"service","iat":{}}}"#,
            r.uuid(),
            1_700_000_000 + r.next() % 10_000_000
        )),
        URL_SAFE_NO_PAD.encode(r.bytes(32))
    );
    plant(
        "jwt",
        "clients/api_client.py",
        format!("import requests\n\nSESSION_HEADERS = {{\n    \"Authorization\": \"Bearer {jwt}\",\n}}\n"),
        jwt,
    );
    let openai = format!("sk-proj-{}T3BlbkFJ{}", r.url64(74), r.url64(74));
    plant(
        "openai-api-key",
        "ml/.env.production",
        format!("MODEL=gpt-4o\nOPENAI_API_KEY={openai}\n"),
        openai,
    );
    let anthropic = format!("sk-ant-api03-{}AA", r.url64(93));
    plant(
        "anthropic-api-key",
        "ml/agent.ts",
        format!("import Anthropic from '@anthropic-ai/sdk';\n\nconst client = new Anthropic({{ apiKey: '{anthropic}' }});\n"),
        anthropic,
    );
    let hf = format!("hf_{}", r.pick(&format!("{UPPER}{LOWER}"), 34));
    plant(
        "huggingface-token",
        "ml/download.py",
        format!("from huggingface_hub import login\n\nlogin(token=\"{hf}\")\n"),
        hf,
    );
    let databricks = format!("dapi{}", r.hex(32));
    plant(
        "databricks-token",
        "jobs/databricks.cfg",
        format!("[DEFAULT]\nhost = https://adb-123.azuredatabricks.net\ntoken = {databricks}\n"),
        databricks,
    );
    let atlassian = format!("ATATT3xFfGF0{}={}", r.url64(171), r.pick("0123456789ABCDEF", 8));
    plant(
        "atlassian-api-token",
        "tools/jira_sync.py",
        format!("JIRA_URL = \"https://team.atlassian.net\"\nJIRA_API_TOKEN = \"{atlassian}\"\n"),
        atlassian,
    );
    let shopify = format!("shpat_{}", r.hex(32));
    plant(
        "shopify-token",
        "shop/config.rb",
        format!("ShopifyAPI::Context.setup(\n  api_key: 'abc',\n  access_token: '{shopify}'\n)\n"),
        shopify,
    );
    let square = format!("sq0atp-{}", r.url64(22));
    plant(
        "square-sq0atp",
        "payments/square.js",
        format!("const client = new Client({{ accessToken: '{square}' }});\n"),
        square,
    );
    let square_eaaa = format!("EAAA{}", r.url64(60));
    plant(
        "square-eaaa",
        "payments/square.env",
        format!("SQUARE_ENVIRONMENT=production\nSQUARE_ACCESS_TOKEN={square_eaaa}\n"),
        square_eaaa,
    );
    let braintree = format!(
        "access_token$production${}${}",
        r.pick(&format!("{LOWER}{DIGITS}"), 16),
        r.hex(32)
    );
    plant(
        "braintree-paypal",
        "payments/paypal.py",
        format!("import braintree\n\ngateway = braintree.BraintreeGateway(access_token=\"{braintree}\")\n"),
        braintree,
    );
    let datadog = r.hex(32);
    plant(
        "datadog-api-key",
        "docker-compose.yml",
        format!("services:\n  agent:\n    image: datadog/agent:7\n    environment:\n      DD_API_KEY: {datadog}\n"),
        datadog,
    );
    let db_password = r.password();
    let db_url = format!("postgres://app_user:{db_password}@db.prod.internal:5432/app");
    plant(
        "database-url",
        "config/database.yml",
        format!("production:\n  adapter: postgresql\n  url: {db_url}\n"),
        db_url,
    );
    let amqp = format!("amqp://orders:{}@rabbit.prod.internal:5672/orders", r.password());
    plant(
        "broker-url",
        "worker/celeryconfig.py",
        format!("broker_url = \"{amqp}\"\nresult_backend = \"rpc://\"\n"),
        amqp,
    );
    let curl_pass = r.password();
    let curl = format!("curl -u deploy:{curl_pass}");
    plant(
        "curl-basic-auth",
        "scripts/upload.sh",
        format!("#!/bin/sh\n{curl} -T build.zip https://artifacts.internal/upload/\n"),
        curl,
    );
    let k8s_data = STANDARD.encode(r.password());
    plant(
        "k8s-secret-data",
        "k8s/db-secret.yaml",
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  username: {}\n  password: {k8s_data}\n",
            STANDARD.encode("app")
        ),
        k8s_data,
    );
    let k8s_string = r.password();
    plant(
        "k8s-secret-stringdata",
        "k8s/api-secret.yaml",
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\nstringData:\n  API_TOKEN: {k8s_string}\n"
        ),
        k8s_string,
    );
    let docker_auth = STANDARD.encode(format!("builder:{}", r.password()));
    plant(
        "docker-config-auth",
        "ci/docker/config.json",
        format!("{{\n  \"auths\": {{\n    \"registry.example.com\": {{\n      \"auth\": \"{docker_auth}\"\n    }}\n  }}\n}}\n"),
        docker_auth,
    );
    let django = r.pick("abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)", 50);
    plant(
        "django-secret-key",
        "mysite/settings.py",
        format!("DEBUG = False\nALLOWED_HOSTS = [\"example.com\"]\nSECRET_KEY = '{django}'\n"),
        django,
    );
    let env_password = r.password();
    plant(
        "dotenv-password",
        "api/.env",
        format!("APP_ENV=production\nDB_HOST=db\nDB_PASSWORD={env_password}\n"),
        env_password,
    );
    let yaml_password = r.password();
    plant(
        "yaml-password",
        "config/application-prod.yml",
        format!("spring:\n  datasource:\n    username: app\n    password: {yaml_password}\n"),
        yaml_password,
    );
    let properties_password = r.password();
    plant(
        "properties-password",
        "src/main/resources/application.properties",
        format!(
            "spring.datasource.url=jdbc:mysql://db:3306/app\nspring.datasource.username=app\nspring.datasource.password={properties_password}\n"
        ),
        properties_password,
    );
    let ini_password = r.password();
    plant(
        "ini-password",
        "etc/app/app.ini",
        format!("[database]\nhost = db.internal\nuser = app\npassword = {ini_password}\n"),
        ini_password,
    );
    let tf_password = r.password();
    plant(
        "terraform-default",
        "infra/variables.tf",
        format!(
            "variable \"db_password\" {{\n  type      = string\n  sensitive = true\n  default   = \"{tf_password}\"\n}}\n"
        ),
        tf_password,
    );
    let env_value = r.password();
    plant(
        "k8s-env-name-value",
        "k8s/deployment.yaml",
        format!(
            "spec:\n  containers:\n    - name: api\n      env:\n        - name: DB_PASSWORD\n          value: \"{env_value}\"\n"
        ),
        env_value,
    );
    let telegram = format!("{}:AA{}", r.pick(DIGITS, 10), r.url64(33));
    plant(
        "telegram-bot-token",
        "bots/telegram.py",
        format!("import telebot\n\nbot = telebot.TeleBot(\"{telegram}\")\n"),
        telegram,
    );
    let grafana = format!("glsa_{}_{}", r.alnum(32), r.hex(8));
    plant(
        "grafana-token",
        "monitoring/grafana.env",
        format!("GF_URL=https://grafana.internal\nGRAFANA_TOKEN={grafana}\n"),
        grafana,
    );
    let gocspx = format!("GOCSPX-{}", r.url64(28));
    plant(
        "google-oauth-secret",
        "auth/client_secret.json",
        format!("{{\"web\": {{\"client_id\": \"123-abc.apps.googleusercontent.com\", \"client_secret\": \"{gocspx}\"}}}}\n"),
        gocspx,
    );
    let hardcoded = r.password();
    plant(
        "hardcoded-password-java",
        "src/main/java/com/acme/Db.java",
        format!("package com.acme;\n\nclass Db {{\n    private static final String DB_PASSWORD = \"{hardcoded}\";\n}}\n"),
        hardcoded,
    );
    let go_secret = r.alnum(32);
    plant(
        "hardcoded-secret-go",
        "internal/auth/keys.go",
        format!("package auth\n\nvar clientSecret = \"{go_secret}\"\n"),
        go_secret,
    );
    let age = format!(
        "AGE-SECRET-KEY-1{}",
        r.pick("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)
    );
    plant(
        "age-secret-key",
        "secrets/keys.txt",
        format!(
            "# created: 2024-01-01T00:00:00Z\n# public key: age1{}\n{age}\n",
            r.pick("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58)
        ),
        age,
    );
    plants
}

/// Placeholders, documentation values and templates next to the real thing: none may be reported.
fn placeholders() -> Vec<(&'static str, String)> {
    vec![
        (
            "docs-app/aws.sh",
            "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nexport AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nexport AWS_ACCESS_KEY_ID=ASIAXXXXXXXXXXXXXXXX\n".into(),
        ),
        (
            "app/settings_local.py",
            "DB_PASSWORD = \"changeme\"\nAPI_KEY = \"your-api-key-here\"\nSECRET_KEY = os.environ[\"SECRET_KEY\"]\npassword = \"password123\"\ntoken = \"<your-token>\"\nSECRET = \"${SECRET}\"\n".into(),
        ),
        (
            "app/config.yml",
            "database:\n  password: ${DB_PASSWORD}\n  password_file: /run/secrets/db\nslack:\n  token: \"{{ slack_token }}\"\napi:\n  key: xxxxxxxxxxxxxxxxxxxx\n".into(),
        ),
        (
            "app/urls.txt",
            "postgres://user:password@localhost:5432/app\nmysql://root:password@127.0.0.1/db\nredis://:${REDIS_PASSWORD}@cache:6379\nhttps://username:password12345@example.com/\n".into(),
        ),
        (
            "app/keys.py",
            "PEM_HEADER = \"-----BEGIN PRIVATE KEY-----\\n...\\n\"\nkey = pem.replace(\"-----BEGIN PRIVATE KEY-----\\n\", \"\")\nif line == \"-----BEGIN RSA PRIVATE KEY-----\":\n    pass\n".into(),
        ),
        (
            "app/tokens.env",
            "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nSLACK_TOKEN=xoxb-your-bot-token\nSTRIPE_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx\nDB_PASSWORD=\nAPI_TOKEN=changeme\n".into(),
        ),
        (
            "app/.npmrc",
            "ignore-scripts=true\n//npm.registry.example/:_authToken=${NPM_TOKEN}\n".into(),
        ),
        (
            "app/.env",
            "NODE_ENV=production\nPORT=8080\nLOG_LEVEL=info\n".into(),
        ),
        (
            "app/cert.pem",
            "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUXexampleexampleexampleexampleexample\n-----END CERTIFICATE-----\n".into(),
        ),
        (
            "app/jwt_example.md",
            "curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'\ncurl -u user:password https://example.com\n".into(),
        ),
        (
            "app/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: demo\ndata:\n  password: cGFzc3dvcmQ=\nstringData:\n  token: changeme\n".into(),
        ),
        (
            "app/enums.py",
            "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY = \"TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY\"\nNULL_TOKEN = \"00000000-0000-0000-0000-000000000000\"\n".into(),
        ),
    ]
}

fn seed() -> u64 {
    std::env::var("RECALL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1)
}

#[test]
fn default_ruleset_finds_planted_secrets_at_their_lines_and_no_placeholder() {
    let seed = seed();
    let mut random = Random(seed);
    let plants = plants(&mut random);
    assert!(plants.len() >= 60, "the corpus covers at least 60 kinds");
    let placeholders = placeholders();

    let dir = tempfile::tempdir().unwrap();
    for (path, content) in plants
        .iter()
        .map(|p| (p.path, p.content.as_str()))
        .chain(placeholders.iter().map(|(p, c)| (*p, c.as_str())))
    {
        let target = dir.path().join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        assert!(!target.exists(), "{path} is planted twice");
        std::fs::write(target, content).unwrap();
    }

    let run = anteater(dir.path()).args(&["--path", "."]).run();
    let keys = run.result_keys();
    let mut found = 0;
    let mut report = format!("recall corpus, RECALL_SEED={seed}\n");
    for plant in &plants {
        let line = plant.line();
        let rules: Vec<&str> = keys
            .iter()
            .filter(|(uri, l, _)| uri == plant.path && *l == line)
            .map(|(_, _, rule)| rule.as_str())
            .collect();
        if rules.is_empty() {
            report.push_str(&format!("  MISSED {:32} {}:{line}\n", plant.kind, plant.path));
        } else {
            found += 1;
            report.push_str(&format!(
                "  found  {:32} {}:{line} {}\n",
                plant.kind,
                plant.path,
                rules.join(",")
            ));
        }
    }
    let placeholder_hits: Vec<String> = keys
        .iter()
        .filter(|(uri, _, _)| placeholders.iter().any(|(path, _)| uri == path))
        .map(|(uri, line, rule)| format!("{uri}:{line} {rule}"))
        .collect();
    report.push_str(&format!(
        "found {found} of {} kinds; {} placeholder hits {placeholder_hits:?}\n",
        plants.len(),
        placeholder_hits.len()
    ));
    // Shown with --nocapture: the per-kind result.
    #[allow(clippy::print_stdout)]
    {
        println!("{report}");
    }

    let required = plants.len() * REQUIRED_SHARE.0 / REQUIRED_SHARE.1;
    assert!(found >= required, "{report}\n{}", run.all_output());
    assert!(placeholder_hits.is_empty(), "{report}");
    // A key's header is its location, not its secret (rule descriptions name it).
    for plant in plants
        .iter()
        .filter(|p| !p.secret.starts_with("-----BEGIN") && !p.secret.starts_with("PuTTY"))
    {
        assert!(
            !run.all_output().contains(&plant.secret),
            "{}: the secret reached an output",
            plant.kind
        );
    }
}
