//! The web tools against a local site: fetch_url (SSRF refusals, redirects, limits, HTML to Markdown) and web_search.
