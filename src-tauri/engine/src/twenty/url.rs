//! Which Twenty URLs RepXP will talk to: https anywhere, plain http only to this machine.

use std::net::IpAddr;

use url::{Host, Url};

use super::error::TwentyError;

/// Parses and checks a Twenty base URL (`https://crm.acme.com`, `http://127.0.0.1:3000`).
/// Returns it without a trailing slash, path kept (Twenty may live under a prefix).
pub fn parse_base_url(raw: &str) -> Result<Url, TwentyError> {
    let bad = |reason: &str| TwentyError::BadUrl {
        url: raw.to_string(),
        reason: reason.to_string(),
    };
    let mut url = Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("put the API key in the key field, not in the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("give the server's address only, without ? or #"));
    }
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err(bad("it has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                "https is required for a server that is not on this computer (the API key would travel in clear)",
            ))
        }
        _ => return Err(bad("use an https:// address")),
    }
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(parse_base_url("https://crm.acme.com").is_ok());
        assert!(parse_base_url("https://crm.acme.com/twenty/").is_ok());
        assert!(parse_base_url("http://127.0.0.1:3000").is_ok());
        assert!(parse_base_url("http://127.8.9.10:3000").is_ok());
        assert!(parse_base_url("http://localhost:3000").is_ok());
        assert!(parse_base_url("http://[::1]:3000").is_ok());
    }

    #[rstest::rstest]
    #[case::plain_http_remote("http://crm.acme.com")]
    #[case::plain_http_lan("http://10.0.0.5:3000")]
    #[case::localhost_lookalike("http://localhost.evil.com")]
    #[case::not_http("ftp://crm.acme.com")]
    #[case::no_scheme("crm.acme.com")]
    #[case::credentials("https://user:pw@crm.acme.com")]
    #[case::query("https://crm.acme.com/?token=x")]
    #[case::empty("")]
    fn refuses(#[case] bad: &str) {
        assert!(parse_base_url(bad).is_err(), "{bad} must be refused");
    }

    #[test]
    fn trailing_slash_is_dropped() {
        let u = parse_base_url("https://crm.acme.com/base/").expect("valid");
        assert_eq!(u.as_str(), "https://crm.acme.com/base");
    }
}
