//! Form-encoded parameters with Stripe's bracket notation (`line_items[0][price]`,
//! `metadata[key]`, `expand[]`), and the checks Stripe makes on them (unknown, empty).

use serde_json::{Map, Value, json};

use super::errors::ApiError;

/// Decoded `application/x-www-form-urlencoded` pairs, in order.
pub(super) struct Params(pub(super) Vec<(String, String)>);

impl Params {
    /// Decodes `application/x-www-form-urlencoded` text (a body or a query string).
    pub(super) fn parse(encoded: &str) -> Self {
        Self(
            url::form_urlencoded::parse(encoded.as_bytes())
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(name, _)| name == key).map(|(_, value)| value.as_str())
    }

    /// The value, refused when it is an empty string (Stripe's reading of "unset this").
    pub(super) fn value(&self, key: &str) -> Result<Option<&str>, ApiError> {
        match self.get(key) {
            Some("") => Err(ApiError::invalid(
                "parameter_invalid_empty",
                format!(
                    "You passed an empty string for '{key}'. We assume empty values are an attempt to unset a parameter; however '{key}' cannot be unset. You should remove '{key}' from your request or supply a non-empty value."
                ),
                key,
            )),
            other => Ok(other),
        }
    }

    /// `prefix[key]=value` pairs as a JSON object (`metadata`, `subscription_data[metadata]`);
    /// empty values are dropped, as they unset a key.
    pub(super) fn hash(&self, prefix: &str) -> Map<String, Value> {
        let mut map = Map::new();
        for (name, value) in &self.0 {
            if let Some(key) =
                name.strip_prefix(prefix).and_then(|r| r.strip_prefix('[')).and_then(|r| r.strip_suffix(']'))
                && !key.contains('[')
            {
                if value.is_empty() {
                    map.remove(key);
                } else {
                    map.insert(key.to_owned(), json!(value));
                }
            }
        }
        map
    }

    /// `name[]=a&name[]=b` or `name[0]=a&name[1]=b`.
    pub(super) fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| {
                key.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('['))
                    .and_then(|rest| rest.strip_suffix(']'))
                    .is_some_and(|index| index.is_empty() || index.parse::<usize>().is_ok())
            })
            .map(|(_, value)| value.clone())
            .collect()
    }

    /// The indices used in `name[N][…]`, ascending.
    pub(super) fn indices(&self, name: &str) -> Vec<usize> {
        let mut indices: Vec<usize> = self
            .0
            .iter()
            .filter_map(|(key, _)| segments(key).get(1).filter(|_| segments(key)[0] == name)?.parse().ok())
            .collect();
        indices.sort_unstable();
        indices.dedup();
        indices
    }

    /// The pairs in a canonical order, to compare two requests' parameters.
    pub(super) fn canonical(&self) -> Vec<(String, String)> {
        let mut pairs = self.0.clone();
        pairs.sort();
        pairs
    }

    /// Refuses a parameter the endpoint does not have, as Stripe does (`parameter_unknown`).
    /// `nested` lists, for a parameter, the names allowed below it (after an index for arrays).
    pub(super) fn check_known(&self, top: &[&str], nested: &[(&str, bool, &[&str])]) -> Result<(), ApiError> {
        for (key, _) in &self.0 {
            let parts = segments(key);
            let unknown = |depth: usize| {
                let name = parts[0].to_owned()
                    + &parts[1..depth].iter().map(|p| format!("[{p}]")).collect::<String>();
                ApiError::invalid("parameter_unknown", format!("Received unknown parameter: {name}"), &name)
            };
            if !top.contains(&parts[0]) {
                return Err(unknown(1));
            }
            for (name, indexed, allowed) in nested {
                if parts[0] != *name {
                    continue;
                }
                let depth = if *indexed { 2 } else { 1 };
                if let Some(child) = parts.get(depth)
                    && !allowed.contains(child)
                {
                    return Err(unknown(depth + 1));
                }
            }
        }
        Ok(())
    }
}

/// `line_items[0][price]` → `["line_items", "0", "price"]`.
pub(super) fn segments(key: &str) -> Vec<&str> {
    let (first, rest) = key.split_once('[').map_or((key, ""), |(first, rest)| (first, rest));
    let mut parts = vec![first];
    if !rest.is_empty() {
        parts.extend(rest.trim_end_matches(']').split("]["));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode_brackets_and_escapes() {
        let params = Params::parse(
            "line_items%5B0%5D%5Bprice%5D=price_pro&metadata[user_id]=a%2Bb+c&expand[]=x&expand[]=y",
        );
        assert_eq!(params.get("line_items[0][price]"), Some("price_pro"));
        assert_eq!(params.hash("metadata").get("user_id"), Some(&json!("a+b c")));
        assert_eq!(params.list("expand"), vec!["x", "y"]);
        assert_eq!(params.indices("line_items"), vec![0]);
        assert_eq!(segments("line_items[0][price]"), vec!["line_items", "0", "price"]);
        let unknown =
            params.check_known(&["line_items", "metadata", "expand"], &[("line_items", true, &["quantity"])]);
        assert_eq!(unknown.err().and_then(|e| e.param), Some("line_items[0][price]".to_owned()));
    }
}
