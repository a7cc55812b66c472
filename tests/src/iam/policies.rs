//! The policies AWS would evaluate for each wavault principal, read from `infra/template.yaml` with every intrinsic
//! resolved to the local stack's provisioned ARNs.
//!
//! Each identity statement is split into *atomic grants* (one action pattern on one resource pattern, with the
//! statement's conditions), so the check can say which grant allowed a call and list the grants no call ever
//! used. Resource policies (the bucket and queue policies) are kept whole: they only deny here.

use std::collections::BTreeMap;

use iam_rs::{Arn, Context, IAMPolicy, IAMRequest, PolicyEvaluator};
use serde_json::{json, Value};

use crate::iam::principal::Principal;
use crate::template::{scalar_string, Template};
use crate::{Error, Result};

/// The account and region the local stack pretends to be (moto's defaults, as the template's pseudo parameters).
pub const ACCOUNT: &str = "123456789012";
/// See [`ACCOUNT`].
pub const REGION: &str = "us-east-1";

/// One action pattern on one resource pattern, with the conditions of the statement it came from.
#[derive(Debug, Clone)]
pub struct AtomicGrant {
    /// `Sid` of the statement (every statement in the template has one).
    pub sid: String,
    /// The action pattern as written (`s3:PutObject`, `xray:*`).
    pub action: String,
    /// The resource as written in the template (`!Sub ${ArchiveBucket.Arn}/journal/*`), stack independent.
    pub resource_display: String,
    /// The resolved resource pattern (`arn:aws:s3:::wavault-archive-x/journal/*`).
    pub resource: String,
    /// A one-statement policy for iam-rs.
    policy: IAMPolicy,
}

impl AtomicGrant {
    /// Stable identity across stacks: `Sid action resource-as-written`.
    pub fn id(&self) -> String {
        format!("{} {} {}", self.sid, self.action, self.resource_display)
    }

    /// Whether this grant alone allows `request`.
    pub fn allows(&self, request: &IAMRequest) -> bool {
        let evaluator = PolicyEvaluator::with_policies(vec![self.policy.clone()]);
        matches!(
            evaluator.evaluate(request).map(|r| r.decision),
            Ok(iam_rs::Decision::Allow)
        )
    }
}

/// What AWS evaluates for one principal of one stack: its identity policy (as atomic grants) and the resource
/// policies of the resources it may touch.
#[derive(Debug, Clone)]
pub struct PrincipalPolicies {
    /// The principal's ARN (a role, or the operator's session).
    pub arn: String,
    /// Where the identity policy lives in the template (`WebhookFunctionRole`, `ContactDataOperatorPolicy`).
    pub source_logical_id: String,
    /// The identity policy, split.
    pub grants: Vec<AtomicGrant>,
    /// Reasons, from the source resource's `Metadata.wavault-iam.unexercised`, for grants no local call can use
    /// (keyed by `Sid` or `Sid action`).
    pub unexercised_reasons: BTreeMap<String, String>,
}

/// A resource policy's statements (bucket policy, queue policy) and the ARNs it protects.
#[derive(Debug, Clone)]
pub struct ResourcePolicy {
    /// Logical id in the template.
    pub logical_id: String,
    /// The resolved policy.
    pub policy: IAMPolicy,
}

/// Every principal's policies for one provisioned stack.
#[derive(Debug, Clone, Default)]
pub struct StackPolicies {
    /// Principal -> its policies.
    pub principals: BTreeMap<Principal, PrincipalPolicies>,
    /// Bucket and queue policies.
    pub resource_policies: Vec<ResourcePolicy>,
}

impl StackPolicies {
    /// Reads every principal's policy from `template` (already bound to the provisioned resources).
    pub fn from_template(template: &Template) -> Result<StackPolicies> {
        let mut principals = BTreeMap::new();
        for principal in Principal::ALL {
            // A template without the principal (a test fixture with no functions) grants it nothing.
            if !defines(template, principal) {
                continue;
            }
            principals.insert(principal, principal_policies(template, principal)?);
        }
        let mut resource_policies = Vec::new();
        for (kind, document_key) in [
            ("AWS::S3::BucketPolicy", "PolicyDocument"),
            ("AWS::SQS::QueuePolicy", "PolicyDocument"),
        ] {
            for logical_id in template.logical_ids_of_type(kind) {
                let resource = template.resource(&logical_id, kind)?;
                let document = resource.require(&[document_key])?;
                resource_policies.push(ResourcePolicy {
                    policy: parse_policy(template, &logical_id, document)?,
                    logical_id,
                });
            }
        }
        Ok(StackPolicies {
            principals,
            resource_policies,
        })
    }
}

fn defines(template: &Template, principal: Principal) -> bool {
    let resources = template.root().get("Resources").and_then(Value::as_object);
    let Some(resources) = resources else {
        return false;
    };
    match principal.function_binary() {
        Some(binary) => resources.values().any(|r| {
            r.pointer("/Metadata/BuildProperties/Binary")
                .and_then(Value::as_str)
                == Some(binary)
        }),
        None => resources.contains_key(principal.managed_policy_logical_id()),
    }
}

/// The function whose `BuildProperties.Binary` is `binary`, and the role its `Role: !GetAtt X.Arn` names.
fn role_of_binary(template: &Template, binary: &str) -> Result<String> {
    let resources = template
        .root()
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or_else(|| template_error(template, "has no Resources".into()))?;
    for (logical_id, resource) in resources {
        let built = resource
            .pointer("/Metadata/BuildProperties/Binary")
            .and_then(Value::as_str);
        if built != Some(binary) {
            continue;
        }
        let role = resource.pointer("/Properties/Role");
        let role_logical = role
            .and_then(|r| r.get("Fn::GetAtt"))
            .and_then(|g| match g {
                Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_owned),
                Value::String(s) => s.split_once('.').map(|(l, _)| l.to_owned()),
                _ => None,
            })
            .ok_or_else(|| {
                template_error(
                    template,
                    format!("{logical_id} has no `Role: !GetAtt <Role>.Arn` (needed to check its permissions)"),
                )
            })?;
        return Ok(role_logical);
    }
    Err(template_error(
        template,
        format!("has no function built from binary {binary}"),
    ))
}

fn principal_policies(template: &Template, principal: Principal) -> Result<PrincipalPolicies> {
    let (source, documents): (String, Vec<Value>) = match principal.function_binary() {
        Some(binary) => {
            let role = role_of_binary(template, binary)?;
            let resource = template.resource(&role, "AWS::IAM::Role")?;
            let policies = resource
                .get(&["Policies"])
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let documents = policies
                .iter()
                .filter_map(|p| p.get("PolicyDocument").cloned())
                .collect();
            (role, documents)
        }
        None => {
            let logical = principal.managed_policy_logical_id();
            let resource = template.resource(logical, "AWS::IAM::ManagedPolicy")?;
            (
                logical.to_owned(),
                vec![resource.require(&["PolicyDocument"])?.clone()],
            )
        }
    };
    let raw_source = template
        .root()
        .pointer(&format!("/Resources/{source}"))
        .cloned()
        .unwrap_or(Value::Null);
    let raw_documents: Vec<Value> = match principal.function_binary() {
        Some(_) => raw_source
            .pointer("/Properties/Policies")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| p.get("PolicyDocument").cloned())
                    .collect()
            })
            .unwrap_or_default(),
        None => raw_source
            .pointer("/Properties/PolicyDocument")
            .cloned()
            .into_iter()
            .collect(),
    };
    let mut grants = Vec::new();
    for (document, raw_document) in documents.iter().zip(raw_documents.iter()) {
        let statements = as_list(document.get("Statement"));
        let raw_statements = as_list(raw_document.get("Statement"));
        for (statement, raw_statement) in statements.iter().zip(raw_statements.iter()) {
            grants.extend(atomic_grants(template, &source, statement, raw_statement)?);
        }
    }
    let unexercised_reasons = raw_source
        .pointer("/Metadata/wavault-iam/unexercised")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), scalar_string(v)?)))
                .collect()
        })
        .unwrap_or_default();
    Ok(PrincipalPolicies {
        arn: principal.arn(),
        source_logical_id: source,
        grants,
        unexercised_reasons,
    })
}

fn atomic_grants(
    template: &Template,
    source: &str,
    statement: &Value,
    raw_statement: &Value,
) -> Result<Vec<AtomicGrant>> {
    let sid = statement
        .get("Sid")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            template_error(
                template,
                format!("{source} has a statement without Sid (the IAM check names statements by Sid): {statement}"),
            )
        })?
        .to_owned();
    if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
        return Err(template_error(
            template,
            format!(
                "{source} statement {sid}: only Allow statements are expected in identity policies"
            ),
        ));
    }
    if statement.get("NotAction").is_some() || statement.get("NotResource").is_some() {
        return Err(template_error(
            template,
            format!("{source} statement {sid}: NotAction / NotResource are not supported by the IAM check"),
        ));
    }
    let actions: Vec<String> = as_list(statement.get("Action"))
        .iter()
        .filter_map(scalar_string)
        .collect();
    if let Some(key) = unmodelled_projection_key(statement, &actions) {
        return Err(template_error(
            template,
            format!(
                "{source} statement {sid}: its Condition uses {key}, which the IAM gateway puts in the request \
                 context of dynamodb:GetItem and dynamodb:BatchGetItem only (tests/src/iam/requests.rs): on any \
                 other action it would not be checked"
            ),
        ));
    }
    let resources = as_list(statement.get("Resource"));
    let raw_resources = as_list(raw_statement.get("Resource"));
    let mut grants = Vec::new();
    for action in &actions {
        for (index, resource) in resources.iter().enumerate() {
            let resolved = scalar_string(resource).ok_or_else(|| {
                template_error(
                    template,
                    format!(
                        "{source} statement {sid}: resource {resource} did not resolve to an ARN"
                    ),
                )
            })?;
            if resolved.contains("Fn::") || resolved.contains("\"Ref\"") {
                return Err(template_error(
                    template,
                    format!("{source} statement {sid}: resource {resolved} did not resolve"),
                ));
            }
            let display = raw_resources
                .get(index)
                .map(display_intrinsic)
                .unwrap_or_else(|| resolved.clone());
            let mut single = serde_json::Map::new();
            single.insert("Sid".into(), json!(sid));
            single.insert("Effect".into(), json!("Allow"));
            single.insert("Action".into(), json!(action));
            single.insert("Resource".into(), json!(resolved));
            if let Some(condition) = statement.get("Condition") {
                single.insert("Condition".into(), condition.clone());
            }
            let policy = parse_policy(
                template,
                source,
                &json!({"Version": "2012-10-17", "Statement": [Value::Object(single)]}),
            )?;
            grants.push(AtomicGrant {
                sid: sid.clone(),
                action: action.clone(),
                resource_display: display,
                resource: resolved,
                policy,
            });
        }
    }
    Ok(grants)
}

/// The actions whose request context carries `dynamodb:Attributes` and `dynamodb:Select` in the gateway.
const PROJECTION_MODELLED_FOR: [&str; 2] = ["dynamodb:GetItem", "dynamodb:BatchGetItem"];

/// A projection condition key (`dynamodb:Attributes`, `dynamodb:Select`) in `statement`'s Condition while one of
/// `actions` is not an action the gateway models it for (condition keys are case-insensitive).
fn unmodelled_projection_key(statement: &Value, actions: &[String]) -> Option<String> {
    let conditions = statement.get("Condition")?.as_object()?;
    let key = conditions
        .values()
        .filter_map(Value::as_object)
        .flat_map(|by_key| by_key.keys())
        .find(|k| {
            k.eq_ignore_ascii_case("dynamodb:Attributes")
                || k.eq_ignore_ascii_case("dynamodb:Select")
        })?;
    let all_modelled = actions.iter().all(|action| {
        PROJECTION_MODELLED_FOR
            .iter()
            .any(|modelled| action.eq_ignore_ascii_case(modelled))
    });
    (!all_modelled).then(|| key.clone())
}

fn parse_policy(template: &Template, source: &str, document: &Value) -> Result<IAMPolicy> {
    IAMPolicy::from_json(&document.to_string()).map_err(|e| {
        template_error(
            template,
            format!("{source}: the policy does not parse as IAM JSON ({e}): {document}"),
        )
    })
}

fn as_list(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    }
}

/// A short, stack-independent rendering of a template value (`!GetAtt RecordsTable.Arn`).
pub fn display_intrinsic(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(map) if map.len() == 1 => {
            let Some((key, arg)) = map.iter().next() else {
                return value.to_string();
            };
            match (key.as_str(), arg) {
                ("Ref", Value::String(name)) => format!("!Ref {name}"),
                ("Fn::GetAtt", Value::Array(parts)) => format!(
                    "!GetAtt {}",
                    parts
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(".")
                ),
                ("Fn::GetAtt", Value::String(dotted)) => format!("!GetAtt {dotted}"),
                ("Fn::Sub", Value::String(text)) => format!("!Sub {text}"),
                ("Fn::If", Value::Array(parts)) if parts.len() == 3 => {
                    // Every `!If` in the roles is the key expression (docs/data.md: "the key").
                    format!(
                        "{} or {}",
                        display_intrinsic(&parts[1]),
                        display_intrinsic(&parts[2])
                    )
                }
                _ => value.to_string(),
            }
        }
        other => other.to_string(),
    }
}

/// Evaluates `action` on `resource` with `context` for `principal_arn` against one policy; used for resource
/// policies (their Deny statements).
pub fn resource_policy_denies(policy: &IAMPolicy, request: &IAMRequest) -> bool {
    let evaluator = PolicyEvaluator::with_policies(vec![policy.clone()]);
    matches!(
        evaluator.evaluate(request).map(|r| r.decision),
        Ok(iam_rs::Decision::Deny)
    )
}

/// Builds an iam-rs request; `resource` must be an ARN (or the sentinel for actions without resource-level
/// permissions, see [`crate::iam::requests::NO_RESOURCE_LEVEL`]).
pub fn iam_request(
    principal_arn: &str,
    action: &str,
    resource: &str,
    context: &BTreeMap<String, Value>,
) -> Result<IAMRequest> {
    let arn = Arn::parse(resource)
        .map_err(|e| Error::Emulator(format!("IAM check: {resource} is not an ARN: {e}")))?;
    let mut ctx = Context::new();
    for (key, value) in context {
        let v = match value {
            Value::Bool(b) => iam_rs::ContextValue::Boolean(*b),
            Value::Array(items) => {
                iam_rs::ContextValue::StringList(items.iter().filter_map(scalar_string).collect())
            }
            other => iam_rs::ContextValue::String(scalar_string(other).unwrap_or_default()),
        };
        ctx.insert(key.clone(), v);
    }
    Ok(IAMRequest::new_with_context(
        iam_rs::Principal::Aws(iam_rs::PrincipalId::String(principal_arn.to_owned())),
        action,
        arn,
        ctx,
    ))
}

fn template_error(template: &Template, message: String) -> Error {
    Error::Template {
        origin: template.origin().to_string(),
        message,
    }
}
