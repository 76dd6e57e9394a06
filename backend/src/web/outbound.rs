//! Outbound HTTP to addresses users and models name (web pages, MCP connectors): refused for
//! loopback, link-local and private addresses unless the operator allows them.
//!
//! Three checks together, because each alone leaks: [`check_url`] before the first request (the
//! scheme, credentials, `localhost` names and literal IP hosts, which reqwest never hands to a
//! resolver); the resolver of [`client_builder`], which refuses names that resolve to non-public
//! addresses and connects only to the public ones it returns (so a name that changes its answer
//! between a check and the connection cannot slip through); and its redirect policy, which runs
//! [`check_url`] on every hop. The client ignores proxy settings: through a proxy the address
//! checks would see the proxy, not the site.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::error::{ErrorKind, Kinded};

/// How many redirects a request may follow.
pub const MAX_REDIRECTS: usize = 5;

/// Where outbound requests may go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// `JARVIS_MCP_ALLOW_PRIVATE=true`: loopback, link-local and private addresses are allowed too.
    pub allow_private: bool,
}

/// Why an outbound request was refused; every case is a sentence the user or the model can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("Jarvis only reaches http and https addresses; `{scheme}:` is not one.")]
    Scheme { scheme: String },
    #[error("Addresses with a user name or password in them are refused; give the address without them.")]
    Credentials,
    #[error("The address `{url}` has no host name.")]
    NoHost { url: String },
    #[error("Jarvis only reaches public addresses; {host} is this machine.")]
    LocalName { host: String },
    #[error("Jarvis only reaches public addresses; {ip} is {kind}.")]
    NonPublicAddress { ip: IpAddr, kind: AddressKind },
    #[error("Jarvis only reaches public addresses; {host} resolves to {ip}, {kind}.")]
    NonPublicName { host: String, ip: IpAddr, kind: AddressKind },
    #[error("The address redirected more than {MAX_REDIRECTS} times; Jarvis stopped following it.")]
    TooManyRedirects,
}

impl Kinded for OutboundError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Invalid
    }
}

/// What kind of non-public address an IP is; its `Display` reads "a private one".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918 (`10/8`, `172.16/12`, `192.168/16`), unique-local `fc00::/7`, site-local
    /// `fec0::/10`, local-use NAT64 `64:ff9b:1::/48`.
    Private,
    /// Carrier-grade NAT, `100.64.0.0/10`.
    SharedNat,
    /// `169.254.0.0/16` (cloud metadata services live there), `fe80::/10`.
    LinkLocal,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// Other special-purpose ranges: `192.0.0/24`, `240/4`, `2001::/23`, `100::/64`, `::/96`…
    Reserved,
}

impl fmt::Display for AddressKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unspecified => "an unspecified one",
            Self::Loopback => "a loopback one (this machine)",
            Self::Private => "a private one",
            Self::SharedNat => "a carrier-grade NAT one",
            Self::LinkLocal => "a link-local one",
            Self::Documentation => "a documentation one",
            Self::Benchmarking => "a benchmarking one",
            Self::Multicast => "a multicast one",
            Self::Broadcast => "a broadcast one",
            Self::Reserved => "a reserved one",
        })
    }
}

/// What kind of non-public address `ip` is; `None` for a public one.
pub fn non_public(ip: IpAddr) -> Option<AddressKind> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<AddressKind> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => AddressKind::Unspecified,
        (127, _, _) => AddressKind::Loopback,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => AddressKind::Private,
        (100, 64..=127, _) => AddressKind::SharedNat,
        (169, 254, _) => AddressKind::LinkLocal,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressKind::Documentation,
        (198, 18..=19, _) => AddressKind::Benchmarking,
        (224..=239, _, _) => AddressKind::Multicast,
        _ if ip == Ipv4Addr::BROADCAST => AddressKind::Broadcast,
        // IETF protocol assignments, the deprecated 6to4 relay anycast, and the old class E.
        (192, 0, 0) | (192, 88, 99) | (240..=255, _, _) => AddressKind::Reserved,
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<AddressKind> {
    let segments = ip.segments();
    if ip.is_unspecified() {
        return Some(AddressKind::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddressKind::Loopback);
    }
    // IPv4-mapped (::ffff:a.b.c.d) reaches the IPv4 address itself.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    // The NAT64 well-known prefix (64:ff9b::/96) reaches its embedded IPv4 address through a
    // gateway; 6to4 (2002::/16) embeds one too.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return non_public_v4(embedded_v4(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return non_public_v4(embedded_v4(segments[1], segments[2]));
    }
    Some(match segments {
        // IPv4-compatible (deprecated) and the rest of ::/96.
        [0, 0, 0, 0, 0, 0, _, _] => AddressKind::Reserved,
        [0x64, 0xff9b, 1, ..] => AddressKind::Private,
        [0x100, 0, 0, 0, ..] => AddressKind::Reserved,
        [0x2001, 0xdb8, ..] => AddressKind::Documentation,
        [first, ..] if first & 0xfff0 == 0x3ff0 => AddressKind::Documentation,
        [0x2001, 2, 0, ..] => AddressKind::Benchmarking,
        // IETF special-purpose (Teredo, ORCHID…).
        [0x2001, second, ..] if second < 0x200 => AddressKind::Reserved,
        [first, ..] if first & 0xfe00 == 0xfc00 => AddressKind::Private,
        [first, ..] if first & 0xffc0 == 0xfe80 => AddressKind::LinkLocal,
        [first, ..] if first & 0xffc0 == 0xfec0 => AddressKind::Private,
        [first, ..] if first & 0xff00 == 0xff00 => AddressKind::Multicast,
        _ => return None,
    })
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))
}

/// Whether `host` is a name for this machine that no resolver should be asked about.
fn is_local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "ip6-localhost"
        || host == "ip6-loopback"
        || host == "localhost.localdomain"
}

/// Whether `url` may be requested under `policy`: http or https, no credentials, and (unless
/// private addresses are allowed) no `localhost` name and no literal non-public IP. Names are
/// checked when the client of [`client_builder`] resolves them.
pub fn check_url(policy: OutboundPolicy, url: &Url) -> Result<(), OutboundError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OutboundError::Scheme { scheme: url.scheme().to_owned() });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OutboundError::Credentials);
    }
    let host = url.host().ok_or_else(|| OutboundError::NoHost { url: url.to_string() })?;
    if policy.allow_private {
        return Ok(());
    }
    let ip = match host {
        Host::Domain(name) if is_local_name(name) => {
            return Err(OutboundError::LocalName { host: name.to_owned() });
        }
        Host::Domain(_) => return Ok(()),
        Host::Ipv4(v4) => IpAddr::V4(v4),
        Host::Ipv6(v6) => IpAddr::V6(v6),
    };
    match non_public(ip) {
        Some(kind) => Err(OutboundError::NonPublicAddress { ip, kind }),
        None => Ok(()),
    }
}

/// A reqwest client builder for addresses from users and models: names resolved through a
/// resolver that refuses non-public addresses (unless allowed), every redirect re-checked with
/// [`check_url`] (at most [`MAX_REDIRECTS`]), no proxy. Callers still run [`check_url`] on the
/// first URL, add their timeouts and `build()`. A refusal surfaces as a `reqwest::Error` whose
/// source chain holds the [`OutboundError`]: find it with [`refusal`].
pub fn client_builder(policy: OutboundPolicy) -> reqwest::ClientBuilder {
    reqwest::Client::builder().no_proxy().dns_resolver(GuardedResolver { policy }).redirect(
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(OutboundError::TooManyRedirects);
            }
            match check_url(policy, attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refused) => attempt.error(refused),
            }
        }),
    )
}

/// The [`OutboundError`] behind a failed request of a [`client_builder`] client, if a check
/// refused it (rather than the network or the site failing).
pub fn refusal<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a OutboundError> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(refused) = error.downcast_ref::<OutboundError>() {
            return Some(refused);
        }
        current = error.source();
    }
    None
}

/// Resolves with the system resolver, then keeps only the addresses the policy allows.
#[derive(Debug, Clone, Copy)]
struct GuardedResolver {
    policy: OutboundPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = allowed_addresses(policy, &host, resolved)?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The resolved addresses a connection may use: all of them when private ones are allowed, else
/// the public ones; an error naming the first refused address when none is public.
fn allowed_addresses(
    policy: OutboundPolicy,
    host: &str,
    resolved: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, OutboundError> {
    if policy.allow_private {
        return Ok(resolved);
    }
    let first_refused = resolved.iter().find_map(|addr| non_public(addr.ip()).map(|kind| (addr.ip(), kind)));
    let public: Vec<SocketAddr> =
        resolved.into_iter().filter(|addr| non_public(addr.ip()).is_none()).collect();
    match (public.is_empty(), first_refused) {
        (true, Some((ip, kind))) => Err(OutboundError::NonPublicName { host: host.to_owned(), ip, kind }),
        _ => Ok(public),
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn kind(ip: &str) -> Option<AddressKind> {
        non_public(ip.parse().expect("an IP address"))
    }

    const DENY: OutboundPolicy = OutboundPolicy { allow_private: false };
    const ALLOW: OutboundPolicy = OutboundPolicy { allow_private: true };

    fn check(policy: OutboundPolicy, url: &str) -> Result<(), OutboundError> {
        check_url(policy, &Url::parse(url).expect("a URL"))
    }

    #[test]
    fn ipv4_special_ranges_are_classified_and_public_ones_pass() {
        assert_eq!(kind("127.0.0.1"), Some(AddressKind::Loopback));
        assert_eq!(kind("127.255.1.2"), Some(AddressKind::Loopback));
        assert_eq!(kind("0.0.0.0"), Some(AddressKind::Unspecified));
        assert_eq!(kind("10.0.0.5"), Some(AddressKind::Private));
        assert_eq!(kind("172.16.0.1"), Some(AddressKind::Private));
        assert_eq!(kind("172.31.255.255"), Some(AddressKind::Private));
        assert_eq!(kind("192.168.1.1"), Some(AddressKind::Private));
        assert_eq!(kind("100.64.0.1"), Some(AddressKind::SharedNat));
        assert_eq!(kind("100.127.255.255"), Some(AddressKind::SharedNat));
        assert_eq!(kind("169.254.169.254"), Some(AddressKind::LinkLocal));
        assert_eq!(kind("192.0.2.7"), Some(AddressKind::Documentation));
        assert_eq!(kind("198.51.100.7"), Some(AddressKind::Documentation));
        assert_eq!(kind("203.0.113.7"), Some(AddressKind::Documentation));
        assert_eq!(kind("198.18.0.1"), Some(AddressKind::Benchmarking));
        assert_eq!(kind("224.0.0.251"), Some(AddressKind::Multicast));
        assert_eq!(kind("255.255.255.255"), Some(AddressKind::Broadcast));
        assert_eq!(kind("240.0.0.1"), Some(AddressKind::Reserved));
        assert_eq!(kind("192.0.0.8"), Some(AddressKind::Reserved));
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "93.184.215.14",
        ] {
            assert_eq!(kind(public), None, "{public} is public");
        }
    }

    #[test]
    fn ipv6_special_ranges_and_embedded_ipv4_are_classified() {
        assert_eq!(kind("::"), Some(AddressKind::Unspecified));
        assert_eq!(kind("::1"), Some(AddressKind::Loopback));
        assert_eq!(kind("fc00::1"), Some(AddressKind::Private));
        assert_eq!(kind("fd12:3456::1"), Some(AddressKind::Private));
        assert_eq!(kind("fe80::1"), Some(AddressKind::LinkLocal));
        assert_eq!(kind("febf::1"), Some(AddressKind::LinkLocal));
        assert_eq!(kind("fec0::1"), Some(AddressKind::Private));
        assert_eq!(kind("ff02::1"), Some(AddressKind::Multicast));
        assert_eq!(kind("2001:db8::1"), Some(AddressKind::Documentation));
        assert_eq!(kind("3fff::1"), Some(AddressKind::Documentation));
        assert_eq!(kind("2001::1"), Some(AddressKind::Reserved), "Teredo");
        assert_eq!(kind("100::1"), Some(AddressKind::Reserved), "discard");
        assert_eq!(kind("::7f00:1"), Some(AddressKind::Reserved), "IPv4-compatible");
        // IPv4-mapped, NAT64 and 6to4 addresses are judged by the IPv4 address inside.
        assert_eq!(kind("::ffff:127.0.0.1"), Some(AddressKind::Loopback));
        assert_eq!(kind("::ffff:169.254.169.254"), Some(AddressKind::LinkLocal));
        assert_eq!(kind("::ffff:10.1.2.3"), Some(AddressKind::Private));
        assert_eq!(kind("::ffff:8.8.8.8"), None);
        assert_eq!(kind("64:ff9b::10.0.0.1"), Some(AddressKind::Private));
        assert_eq!(kind("64:ff9b::8.8.8.8"), None);
        assert_eq!(kind("64:ff9b:1::1"), Some(AddressKind::Private));
        assert_eq!(kind("2002:7f00:1::"), Some(AddressKind::Loopback));
        assert_eq!(kind("2002:0808:0808::"), None);
        for public in ["2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::200e"] {
            assert_eq!(kind(public), None, "{public} is public");
        }
    }

    #[test]
    fn only_http_and_https_without_credentials_are_accepted() {
        for url in ["file:///etc/passwd", "ftp://example.com/x", "gopher://example.com", "data:text/plain,hi"]
        {
            assert!(matches!(check(ALLOW, url), Err(OutboundError::Scheme { .. })), "{url}");
        }
        assert_eq!(
            check(DENY, "ftp://example.com/").expect_err("an error").to_string(),
            "Jarvis only reaches http and https addresses; `ftp:` is not one."
        );
        assert_eq!(check(ALLOW, "https://user:secret@example.com/"), Err(OutboundError::Credentials));
        assert_eq!(check(ALLOW, "https://user@example.com/"), Err(OutboundError::Credentials));
        assert_eq!(check(DENY, "https://example.com/page?q=1"), Ok(()));
        assert_eq!(check(DENY, "http://93.184.215.14:8080/"), Ok(()));
    }

    #[test]
    fn literal_private_addresses_and_localhost_are_refused_unless_allowed() {
        assert_eq!(
            check(DENY, "http://10.0.0.5/admin").expect_err("an error").to_string(),
            "Jarvis only reaches public addresses; 10.0.0.5 is a private one."
        );
        assert_eq!(
            check(DENY, "http://169.254.169.254/latest/meta-data/").expect_err("an error").to_string(),
            "Jarvis only reaches public addresses; 169.254.169.254 is a link-local one."
        );
        assert!(matches!(check(DENY, "http://[::1]:8080/"), Err(OutboundError::NonPublicAddress { .. })));
        assert!(matches!(
            check(DENY, "http://[::ffff:7f00:1]/"),
            Err(OutboundError::NonPublicAddress { .. })
        ));
        // The URL parser turns these spellings of 127.0.0.1 into the address itself.
        for url in ["http://0x7f.1/", "http://2130706433/", "http://127.1/", "http://0177.0.0.1/"] {
            assert!(
                matches!(
                    check(DENY, url),
                    Err(OutboundError::NonPublicAddress { kind: AddressKind::Loopback, .. })
                ),
                "{url}"
            );
        }
        assert_eq!(
            check(DENY, "http://localhost:3000/").expect_err("an error").to_string(),
            "Jarvis only reaches public addresses; localhost is this machine."
        );
        assert!(matches!(check(DENY, "http://api.LOCALHOST./"), Err(OutboundError::LocalName { .. })));
        for url in ["http://10.0.0.5/", "http://localhost:3000/", "http://[::1]/", "http://169.254.169.254/"]
        {
            assert_eq!(check(ALLOW, url), Ok(()), "{url}");
        }
    }

    fn socket(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().expect("an IP address"), 0)
    }

    #[test]
    fn resolved_names_keep_only_public_addresses_or_are_refused() {
        let mixed = vec![socket("10.0.0.1"), socket("93.184.215.14")];
        assert_eq!(
            allowed_addresses(DENY, "mixed.example", mixed.clone()),
            Ok(vec![socket("93.184.215.14")])
        );
        assert_eq!(allowed_addresses(ALLOW, "mixed.example", mixed.clone()), Ok(mixed));
        let refused =
            allowed_addresses(DENY, "intranet.example", vec![socket("192.168.0.10"), socket("fd00::1")]);
        assert_eq!(
            refused.expect_err("an error").to_string(),
            "Jarvis only reaches public addresses; intranet.example resolves to 192.168.0.10, a private one."
        );
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_of_this_machine_and_the_error_is_found_in_the_chain() {
        let resolver = GuardedResolver { policy: DENY };
        let Err(error) = resolver.resolve(Name::from_str("localhost").expect("a name")).await else {
            panic!("localhost resolves to loopback addresses only")
        };
        let refused = refusal(error.as_ref()).expect("an outbound refusal");
        assert!(
            matches!(refused, OutboundError::NonPublicName { kind: AddressKind::Loopback, .. }),
            "{refused}"
        );

        let allowed =
            GuardedResolver { policy: ALLOW }.resolve(Name::from_str("localhost").expect("a name")).await;
        assert!(allowed.expect("allowed").any(|addr| addr.ip().is_loopback()));
    }
}
