use super::*;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Fields<'a> {
    #[serde(default, borrow, deserialize_with = "text")]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "id")]
    id: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "number")]
    code: Option<i64>,
    #[serde(default, deserialize_with = "boolean")]
    flag: Option<bool>,
    #[serde(default, deserialize_with = "float")]
    at: Option<f64>,
    #[serde(default, borrow, deserialize_with = "object")]
    inner: Option<Inner<'a>>,
    #[serde(default, borrow, deserialize_with = "list")]
    list: Vec<Inner<'a>>,
    #[serde(default, borrow)]
    raw: Elements<'a>,
}

#[derive(Debug, Deserialize)]
struct Inner<'a> {
    #[serde(default, borrow, deserialize_with = "text")]
    name: Option<Cow<'a, str>>,
}

fn read(json: &str) -> Fields<'_> {
    serde_json::from_str(json).expect("a lenient read never fails on types")
}

#[test]
fn every_field_of_another_type_reads_as_absent() {
    let f = read(
        r#"{"text": 1, "id": 1.5, "code": "x", "flag": "true", "at": "1", "inner": [1],
            "list": {"name": "a"}, "raw": {"a": 1}}"#,
    );
    assert!(f.text.is_none() && f.id.is_none() && f.code.is_none() && f.flag.is_none());
    assert!(f.at.is_none() && f.inner.is_none() && f.list.is_empty());
    assert!(
        f.raw.is_empty() && f.raw.not_a_list,
        "flagged, so it is kept"
    );
    let f = read(r#"{"text": null, "raw": null}"#);
    assert!(
        f.text.is_none() && !f.raw.not_a_list,
        "null is absent, not drift"
    );
}

#[test]
fn fields_of_the_documented_type_read_as_before_and_borrow() {
    let f = read(
        r#"{"text": "plain", "id": "wamid.X", "code": 131051, "flag": false, "at": 38,
            "inner": {"name": "n", "extra": [1, {"deep": true}]},
            "list": [{"name": "a"}, "skipped", {"name": 2}], "raw": [1, "two", {"three": 3}]}"#,
    );
    assert!(matches!(f.text, Some(Cow::Borrowed("plain"))), "no copy");
    assert!(matches!(f.id, Some(Cow::Borrowed("wamid.X"))));
    assert_eq!(
        (f.code, f.flag, f.at),
        (Some(131051), Some(false), Some(38.0))
    );
    assert_eq!(f.inner.and_then(|i| i.name).as_deref(), Some("n"));
    let names: Vec<_> = f.list.iter().map(|i| i.name.as_deref()).collect();
    assert_eq!(names, [Some("a"), None], "the string element is skipped");
    let raw: Vec<&str> = f.raw.iter().map(|r| r.get()).collect();
    assert_eq!(
        raw,
        ["1", r#""two""#, r#"{"three": 3}"#],
        "each element as sent"
    );
}

#[test]
fn ids_and_codes_accept_their_other_spelling() {
    let f = read(r#"{"id": 1493318722875447, "code": "131047", "text": "caf\u00e9"}"#);
    assert_eq!(f.id.as_deref(), Some("1493318722875447"));
    assert_eq!(f.code, Some(131047));
    assert_eq!(f.text.as_deref(), Some("café"), "escapes are read (owned)");
}

#[test]
fn only_objects_are_objects() {
    assert!(is_object(" {\"a\":1}") && !is_object("[1]") && !is_object("\"x\""));
}
