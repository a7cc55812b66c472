//! Unit tests of the event edge.
use super::*;
use wavault_core::rotation::{RotationReport, StepOutcome};

/// The request a JSON event makes, read as the runtime reads it.
fn request_for(
    event: &Value,
    config: &TokenRotatorSettings,
    invocation_id: &str,
) -> Result<RotationRequest, EventError> {
    let event: Invocation = serde_json::from_value(event.clone()).unwrap();
    request(&event, config, invocation_id)
}

fn config() -> TokenRotatorSettings {
    TokenRotatorSettings::from_lookup(|k| (k == "META_SECRET_ID").then(|| "meta-arn".to_owned()))
        .unwrap()
}

#[test]
fn secrets_manager_events_name_their_step_secret_and_version() {
    let event = json!({
        "Step": "testSecret",
        "SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:meta-AbCdEf",
        "ClientRequestToken": "c0ffee00-0000-4000-8000-000000000000",
        "RotationToken": "ignored"
    });
    assert_eq!(
        request_for(&event, &config(), "req"),
        Ok(RotationRequest::Step {
            secret_id: "arn:aws:secretsmanager:us-east-1:123456789012:secret:meta-AbCdEf".into(),
            step: RotationStep::TestSecret,
            version_id: "c0ffee00-0000-4000-8000-000000000000".into(),
        })
    );
    let bad_step = json!({"Step": "rotateSecret", "SecretId": "s", "ClientRequestToken": "t"});
    assert_eq!(
        request_for(&bad_step, &config(), "r"),
        Err(EventError::UnknownStep)
    );
    let no_token = json!({"Step": "createSecret", "SecretId": "s"});
    assert_eq!(
        request_for(&no_token, &config(), "r"),
        Err(EventError::Missing("ClientRequestToken"))
    );
}

#[test]
fn schedules_rotate_the_configured_secret_with_a_fresh_version_or_check_it() {
    let scheduled = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-22T00:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/rotate"], "detail": {}
    });
    for event in [scheduled, json!({"action": "rotate"})] {
        match request_for(&event, &config(), "req") {
            Ok(RotationRequest::Rotate {
                secret_id,
                fresh_version_id,
            }) => {
                assert_eq!(secret_id, "meta-arn");
                assert_eq!(fresh_version_id.len(), 36);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        request_for(&json!({"action": "check"}), &config(), "r"),
        Ok(RotationRequest::Check {
            secret_id: "meta-arn".into()
        })
    );
    for odd in [
        json!({}),
        json!({"action": "delete"}),
        json!({"detail-type": "Other"}),
        json!([1]),
    ] {
        assert_eq!(
            request_for(&odd, &config(), "r"),
            Err(EventError::Unrecognised)
        );
    }
}

#[test]
fn fresh_version_ids_are_uuid_shaped_and_differ() {
    let a = fresh_version_id("same");
    let b = fresh_version_id("same");
    assert_ne!(a, b);
    for id in [&a, &b] {
        assert_eq!(id.len(), 36, "{id}");
        let groups: Vec<_> = id.split('-').map(str::len).collect();
        assert_eq!(groups, vec![8, 4, 4, 4, 12], "{id}");
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}

#[test]
fn answers_carry_ids_and_outcomes_only() {
    let outcome = RotationOutcome {
        step: None,
        rotation: Some(RotationReport {
            version_id: "v1".into(),
            resumed: true,
            steps: vec![(RotationStep::FinishSecret, StepOutcome::Finished)],
        }),
        days_to_expiry: Some(60.0),
    };
    assert_eq!(
        response(&outcome),
        json!({"version_id": "v1", "resumed": true, "days_to_expiry": 60.0,
               "steps": [{"step": "finishSecret", "outcome": "finished"}]})
    );
    let step = RotationOutcome {
        step: Some((RotationStep::SetSecret, StepOutcome::NothingToSet)),
        rotation: None,
        days_to_expiry: None,
    };
    assert_eq!(
        response(&step),
        json!({"step": "setSecret", "outcome": "nothing_to_set"})
    );
}

#[test]
fn each_trigger_is_read_as_its_own_variant() {
    let parse = |event: Value| serde_json::from_value::<Invocation>(event).unwrap();
    assert!(matches!(
        parse(json!({"Step": "createSecret", "SecretId": "s", "ClientRequestToken": "t"})),
        Invocation::Rotation(_)
    ));
    assert!(matches!(
        parse(json!({"Step": "createSecret", "SecretId": "s"})),
        Invocation::IncompleteRotation(_)
    ));
    assert!(matches!(
        parse(json!({"action": "rotate"})),
        Invocation::Action { .. }
    ));
    assert!(matches!(
        parse(json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}})),
        Invocation::Scheduled(_)
    ));
    assert!(matches!(
        parse(json!({"hello": "world"})),
        Invocation::Other(_)
    ));
    for not_an_object in [
        json!(["rotate"]),
        json!(["createSecret", "s", "t"]),
        json!(null),
        json!("rotate"),
        json!(1),
    ] {
        assert!(
            matches!(parse(not_an_object.clone()), Invocation::NotAnObject(_)),
            "{not_an_object}"
        );
    }
}

#[test]
fn rotation_fields_are_trimmed_and_blank_or_odd_ones_refused_by_name() {
    let event = json!({"Step": "setSecret", "SecretId": " s ", "ClientRequestToken": "t"});
    assert_eq!(
        request_for(&event, &config(), "r"),
        Ok(RotationRequest::Step {
            secret_id: "s".into(),
            step: RotationStep::SetSecret,
            version_id: "t".into(),
        })
    );
    let blank = json!({"Step": "setSecret", "SecretId": "  ", "ClientRequestToken": "t"});
    assert_eq!(
        request_for(&blank, &config(), "r"),
        Err(EventError::Missing("SecretId"))
    );
    let number = json!({"Step": "setSecret", "SecretId": 7, "ClientRequestToken": "t"});
    assert_eq!(
        request_for(&number, &config(), "r"),
        Err(EventError::Missing("SecretId"))
    );
    let odd_step = json!({"Step": 3, "SecretId": "s", "ClientRequestToken": "t"});
    assert_eq!(
        request_for(&odd_step, &config(), "r"),
        Err(EventError::UnknownStep)
    );
}
