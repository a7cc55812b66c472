//! Unit tests of `graph_tokens` (kept beside the module, with access to its private items).
use super::*;

#[test]
fn appsecret_proof_is_hex_hmac_sha256_of_the_token() {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    assert_eq!(
        appsecret_proof("Jefe", &AccessToken::new("what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn urls_and_forms_are_encoded() -> Result<(), Box<dyn std::error::Error>> {
    let graph = HttpTokenGraph::new("https://graph.facebook.com", "v23.0")?;
    assert_eq!(
        graph
            .url(&["oauth", "access_token"], &[("a", "x|y"), ("b", "1 2&c")])?
            .as_str(),
        "https://graph.facebook.com/v23.0/oauth/access_token?a=x%7Cy&b=1+2%26c"
    );
    assert_eq!(
        graph.url(&["1/2", "access_tokens"], &[])?.as_str(),
        "https://graph.facebook.com/v23.0/1%2F2/access_tokens"
    );
    let prefixed = HttpTokenGraph::new("http://127.0.0.1:9/graph/", "v26.0")?;
    assert_eq!(
        prefixed.url(&["debug_token"], &[])?.as_str(),
        "http://127.0.0.1:9/graph/v26.0/debug_token"
    );
    assert_eq!(
        form(&[("scope", "a,b"), ("proof", "x y")]),
        "scope=a%2Cb&proof=x+y"
    );
    assert!(HttpTokenGraph::new("graph.facebook.com", "v23.0").is_err());
    assert!(HttpTokenGraph::new("https://graph.facebook.com?x=1", "v23.0").is_err());
    assert!(HttpTokenGraph::new("https://graph.facebook.com", "v2/3").is_err());
    Ok(())
}

#[test]
fn answers_parse_into_tokens_and_token_info() {
    let issued_token = issued(&serde_json::json!({
        "access_token": "EAAGnew", "token_type": "bearer", "expires_in": 5183944
    }))
    .unwrap();
    assert_eq!(issued_token.token.expose(), "EAAGnew");
    assert_eq!(issued_token.expires_in, Some(5_183_944));
    let minted = issued(&serde_json::json!({"access_token": "EAAGsu"})).unwrap();
    assert_eq!(minted.expires_in, None);
    assert!(issued(&serde_json::json!({"access_token": " "})).is_none());
    assert!(issued(&serde_json::json!({"token": "x"})).is_none());

    let info = token_info(&serde_json::json!({"data": {
        "app_id": "100", "type": "SYSTEM_USER", "application": "wavault",
        "expires_at": 0, "is_valid": true,
        "scopes": ["whatsapp_business_messaging", "whatsapp_business_management"]
    }}))
    .unwrap();
    assert!(info.is_valid);
    assert_eq!(info.app_id.as_deref(), Some("100"));
    assert_eq!(info.expires_at, Some(0));
    assert_eq!(info.scopes.len(), 2);
    let numeric = token_info(
        &serde_json::json!({"data": {"app_id": 100, "expires_at": "17", "is_valid": true}}),
    )
    .unwrap();
    assert_eq!(numeric.app_id.as_deref(), Some("100"));
    assert_eq!(numeric.expires_at, Some(17));
    let unknown = token_info(&serde_json::json!({"data": {
        "error": {"code": 190, "message": "Invalid OAuth access token"}, "is_valid": false, "scopes": []
    }}))
    .unwrap();
    assert!(!unknown.is_valid);
    assert_eq!(unknown.app_id, None);
    assert!(token_info(&serde_json::json!({"error": {"code": 190}})).is_none());
}

#[test]
fn errors_are_classified_by_code_with_our_own_reasons() {
    assert_eq!(
        token_error(400, Some(190)).kind,
        GraphErrorKind::TokenInvalid
    );
    assert_eq!(token_error(400, Some(4)).kind, GraphErrorKind::RateLimited);
    let unknown = token_error(400, Some(100));
    assert_eq!(unknown.kind, GraphErrorKind::Permanent);
    assert!(!unknown.reason.contains("media"));
    assert_eq!(token_error(500, None).kind, GraphErrorKind::Transient);
    assert_eq!(
        graph_error_code(br#"{"error":{"message":"x","code":"190"}}"#),
        Some(190)
    );
    assert_eq!(graph_error_code(b"<html>"), None);
}
