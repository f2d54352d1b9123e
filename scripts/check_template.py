"""Checks what template.yaml deploys once SAM has expanded it (aws-sam-translator, which
cfn-lint brings), so that the deployment facts of docs/deploy.md cannot drift:

- both variants of the function (classic and Managed Instances) run with the template's own
  role, which has exactly the listed rights (no AWS managed policy; SQS rights on SendQueue
  only; KMS only through SQS or Secrets Manager, for the stack's own queues and secret);
- every HTTP route is authorized and reaches the function (a catch-all `$default` route),
  except exactly GET and POST /v1/webhooks/{provider}; every HTTP API is throttled and has
  a JSON access log naming the caller; no function URL is open;
- sends come only from the deployment's own bus and queue: no rule on the default bus, the
  rule matches this account and the send source, the bus and queue policies name only the
  configured producer principals and deny other accounts (the queue also non-TLS);
- the data key (DataKmsKeyArn), when set, encrypts every dead-letter queue, SendQueue and
  every log group; the shared rate limit (on the idempotency table, the limits' defaults one
  number per provider account), the reserved concurrency, the environment, the fingerprint secret, the
  status table, bus and outputs, and the alarms (none says to redrive dead letters as they
  are) are wired; docs/deploy.md names every parameter, variable, resource, alarm and output;
- the webhook routes are served by WebhookFunction alone (its own role with exactly its rights:
  the webhook secret, the status table and bus; its reserved concurrency; its own route
  throttling), the send function serves none (no bus), and the status bus denies every
  principal but the two functions' roles;
- the template is cfn-lint clean with the Managed Instances mode on as well as off.

Run by scripts/test.sh; no AWS call is made."""
import copy
import json
import os
import re
import subprocess
import sys
import tempfile

from cfnlint.decode.cfn_yaml import load
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

SEND_QUEUE = '{"Fn::GetAtt": ["SendQueue", "Arn"]}'
EXPECTED = {
    ("secretsmanager:GetSecretValue", '{"Ref": "ProviderSecretArn"}'),
    ("kms:Decrypt", '{"Ref": "SecretKmsKeyArn"}'),
    ("secretsmanager:GetSecretValue", '{"Ref": "FingerprintSecret"}'),
    ("dynamodb:GetItem", '{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}'),
    ("dynamodb:PutItem", '{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}'),
    ("dynamodb:UpdateItem", '{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}'),
    ("dynamodb:DeleteItem", '{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}'),
    ("dynamodb:GetItem", '{"Fn::GetAtt": ["StatusTable", "Arn"]}'),
    ("dynamodb:UpdateItem", '{"Fn::GetAtt": ["StatusTable", "Arn"]}'),
    ("events:PutEvents", json.dumps({"Fn::If": [
        "CreateStatusEventBus", {"Fn::GetAtt": ["StatusEventBus", "Arn"]},
        {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${StatusEventBusName}"}]},
        sort_keys=True)),
    ("sqs:ReceiveMessage", SEND_QUEUE),
    ("sqs:DeleteMessage", SEND_QUEUE),
    ("sqs:GetQueueAttributes", SEND_QUEUE),
    ("sqs:ChangeMessageVisibility", SEND_QUEUE),
    ("sqs:SendMessage", '{"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}'),
    ("kms:Decrypt", '{"Ref": "DataKmsKeyArn"}'),
    ("kms:GenerateDataKey", '{"Ref": "DataKmsKeyArn"}'),
    ("logs:CreateLogStream", '{"Fn::GetAtt": ["DispatchLogGroup", "Arn"]}'),
    ("logs:PutLogEvents", '{"Fn::GetAtt": ["DispatchLogGroup", "Arn"]}'),
}
# The queues whose messages the data key may be used for, through SQS.
KMS_QUEUES = {"SendQueue", "EventsDeadLetterQueue"}
ENVIRONMENT = {
    "IDEMPOTENCY_UNKNOWN_TTL_SECONDS": "1814400",
    "MIN_ATTEMPT_MS": "2000",
    "DIRECT_FAILURES": {"Ref": "DirectFailures"},
    "FINGERPRINT_SECRET_ID": {"Ref": "FingerprintSecret"},
    "STATUS_TABLE": {"Ref": "StatusTable"},
    "STATUS_TTL_SECONDS": "2592000",
    # The send function serves no webhook route: without a bus they are 404 there.
    "STATUS_EVENT_BUS": "",
    "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
    "PROVIDER_SECRET_ID": {"Ref": "ProviderSecretArn"},
    "RATE_LIMIT_TABLE": {"Fn::If": ["UseSharedRateLimit", {"Ref": "IdempotencyTable"}, {"Ref": "AWS::NoValue"}]},
    "AUTOCALLS_MAX_RPS": {"Ref": "AutocallsMaxRps"},
    "META_MAX_RPS": {"Ref": "MetaMaxRps"},
}
# The webhook function: the webhook secret alone, the status table and bus, nothing of sends.
WEBHOOK_ENVIRONMENT = {
    "WEBHOOK_SECRET_ID": {"Ref": "WebhookSecret"},
    "PROVIDER_SECRET_ID": "",
    "FINGERPRINT_SECRET_ID": "",
    "IDEMPOTENCY_TABLE": "",
    "RATE_LIMIT_TABLE": "",
    "STATUS_TABLE": {"Ref": "StatusTable"},
    "STATUS_EVENT_BUS": {"Fn::If": ["CreateStatusEventBus", {"Ref": "StatusEventBus"}, {"Ref": "StatusEventBusName"}]},
}
STATUS_BUS_ARN = json.dumps({"Fn::If": [
    "CreateStatusEventBus", {"Fn::GetAtt": ["StatusEventBus", "Arn"]},
    {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${StatusEventBusName}"}]},
    sort_keys=True)
WEBHOOK_RIGHTS = {
    ("secretsmanager:GetSecretValue", '{"Ref": "WebhookSecret"}'),
    ("dynamodb:GetItem", '{"Fn::GetAtt": ["StatusTable", "Arn"]}'),
    ("dynamodb:UpdateItem", '{"Fn::GetAtt": ["StatusTable", "Arn"]}'),
    ("events:PutEvents", STATUS_BUS_ARN),
    ("logs:CreateLogStream", '{"Fn::GetAtt": ["DispatchLogGroup", "Arn"]}'),
    ("logs:PutLogEvents", '{"Fn::GetAtt": ["DispatchLogGroup", "Arn"]}'),
}
# Each provider's limit as one number per provider account, shared by every instance.
RATE_DEFAULTS = {"SharedRateLimit": "true", "AutocallsMaxRps": 5, "MetaMaxRps": 80}
WEBHOOK_PATH = "/v1/webhooks/{provider}"
UNAUTHORIZED = {("GET", WEBHOOK_PATH), ("POST", WEBHOOK_PATH)}
AUTHORIZED_PROBES = [
    ("GET", "/v1/health"), ("POST", "/v1/messages"), ("POST", "/v1/messages/batch"),
    ("GET", "/v1/messages/meta/wamid.X"), ("GET", "/no/such/path"), ("DELETE", "/v1/messages"),
    ("POST", "/prod/v1/messages"), ("PUT", "/v1/webhooks/meta"), ("DELETE", "/v1/webhooks/meta"),
    ("PATCH", "/v1/webhooks/autocalls"), ("POST", "/prod/v1/webhooks/meta"),
    ("POST", "/v1/webhooks/meta/extra"), ("GET", "/v1/webhooks"), ("POST", "/v1/webhooks/"),
]
UNAUTHORIZED_PROBES = [("GET", "/v1/webhooks/meta"), ("POST", "/v1/webhooks/meta"),
                       ("POST", "/v1/webhooks/autocalls"), ("GET", "/v1/webhooks/bitbybit")]
ACCESS_LOG_FIELDS = {"requestId": "$context.requestId", "ip": "$context.identity.sourceIp",
                     "routeKey": "$context.routeKey", "status": "$context.status"}
IAM_CALLER = {"$context.identity.userArn", "$context.identity.caller", "$context.identity.accountId"}
JWT_CALLER = {"$context.authorizer.claims.sub", "$context.authorizer.claims.client_id"}
STATUS_ALARMS = {"DeliveryUnknownAlarm": "DeliveryUnknown", "WebhookRejectedAlarm": "WebhookRejected",
                 "StatusUnreadableAlarm": "StatusUnreadable"}
DEAD_LETTER_ALARMS = ("SendDeadLetterQueueAlarm", "EventsDeadLetterQueueAlarm")
OUTPUTS = ("WebhookSecretArn", "StatusTableName", "StatusEventBusName", "StatusEventBusArn", "MetaWebhookUrl",
           "AutocallsWebhookUrl", "FingerprintSecretArn", "SendEventBusName", "SendEventBusArn")
NO_VALUE = {"Ref": "AWS::NoValue"}
ACCOUNT_ROOT = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}


class NoManagedPolicies(ManagedPolicyLoader):
    """SAM looks managed policy ARNs up in IAM; the ones it could use here are well known."""

    def __init__(self):
        pass

    def load(self):
        names = ("AWSLambdaBasicExecutionRole", "AWSLambdaSQSQueueExecutionRole", "AWSLambdaManagedEC2ResourceOperator")
        return {name: f"arn:aws:iam::aws:policy/service-role/{name}" for name in names}


def statements(policy_document):
    for statement in policy_document.get("Statement", []):
        if isinstance(statement, dict) and "Fn::If" in statement:
            statement = statement["Fn::If"][1]  # the condition's "true" branch; the other is NoValue
        yield statement


def resolve(value, truths):
    """The value as CloudFormation would see it with the named conditions true or false:
    Fn::If of those conditions chosen, AWS::NoValue dropped."""
    if isinstance(value, dict):
        if "Fn::If" in value and value["Fn::If"][0] in truths:
            condition, yes, no = value["Fn::If"]
            return resolve(yes if truths[condition] else no, truths)
        out = {}
        for key, item in value.items():
            item = resolve(item, truths)
            if item != NO_VALUE:
                out[key] = item
        return out
    if isinstance(value, list):
        return [item for item in (resolve(item, truths) for item in value) if item != NO_VALUE]
    return value


def as_list(value):
    return value if isinstance(value, list) else [value]


def operations(paths):
    """Every (METHOD, path, operation) of an OpenAPI body; ANY as "ANY"."""
    for path, item in paths.items():
        for key, operation in item.items():
            if key == "parameters" or not isinstance(operation, dict):
                continue
            method = "ANY" if key == "x-amazon-apigateway-any-method" else key.upper()
            yield method, path, operation


def route_for(paths, method, path):
    """The operation API Gateway (HTTP API) would pick for `method path`: an exact route with
    that method, else that route's ANY; else the same for a route with path variables
    ({name} is one non-empty segment, {name+} the rest); else the `$default` route."""
    def pick(item):
        for key in (method.lower(), "x-amazon-apigateway-any-method"):
            if key in item:
                return item[key]
        return None

    if path in paths and pick(paths[path]):
        return pick(paths[path])
    for template, item in paths.items():
        if "{" not in template:
            continue
        pattern = re.sub(r"\\\{[^}/]+\\\+\\\}", ".+", re.escape(template))
        pattern = re.sub(r"\\\{[^}/]+\\\}", "[^/]+", pattern)
        if re.fullmatch(pattern, path) and pick(item):
            return pick(item)
    default = paths.get("/$default", paths.get("$default", {})).get("x-amazon-apigateway-any-method")
    return default if default and default.get("isDefaultRoute") else None


def authorized(operation):
    """True when the operation names an authorizer; SAM's `NONE` marker and an empty
    requirement are no authorization."""
    return any(isinstance(req, dict) and req and set(req) != {"NONE"} for req in operation.get("security") or [])


def lint_with_managed_instances_on(path):
    """cfn-lint on a copy whose defaults turn the Managed Instances mode on (with a VPC), so
    that the mode is linted as a deployment with it would see the template."""
    text = open(path).read()
    flips = [
        ('  ManagedInstances:\n    Type: String\n    Default: "false"', '  ManagedInstances:\n    Type: String\n    Default: "true"'),
        ('  ManagedInstancesSubnetIds:\n    Type: CommaDelimitedList\n    Default: ""', '  ManagedInstancesSubnetIds:\n    Type: CommaDelimitedList\n    Default: "subnet-0abc1234,subnet-0def5678"'),
        ('  ManagedInstancesSecurityGroupIds:\n    Type: CommaDelimitedList\n    Default: ""', '  ManagedInstancesSecurityGroupIds:\n    Type: CommaDelimitedList\n    Default: "sg-0abc1234"'),
    ]
    for old, new in flips:
        if old not in text:
            return [f"cannot turn Managed Instances on in a copy: {old.splitlines()[0].strip()} changed"]
        text = text.replace(old, new)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=os.path.dirname(path), delete=False) as copy_file:
        copy_file.write(text)
    try:
        lint = subprocess.run([os.path.join(os.path.dirname(sys.executable), "cfn-lint"), copy_file.name], capture_output=True, text=True)
    finally:
        os.unlink(copy_file.name)
    if lint.returncode != 0:
        return ["cfn-lint with ManagedInstances=true: " + (lint.stdout + lint.stderr).strip()]
    print("template: cfn-lint clean with ManagedInstances=true")
    return []


class Checker:
    def __init__(self, template, resources, docs):
        self.template = template
        self.resources = resources
        self.docs = docs
        self.problems = []
        self.checks = 0

    def check(self, ok, problem):
        self.checks += 1
        if not ok:
            self.problems.append(problem)
        return ok

    def props(self, name):
        return self.resources.get(name, {}).get("Properties", {})

    # ------------------------------------------------------------ rights
    def rights(self):
        resources = self.resources
        for function in ("DispatchFunction", "ManagedDispatchFunction"):
            self.check(self.props(function).get("Role") == {"Fn::GetAtt": ["DispatchRole", "Arn"]},
                       f"{function}: does not run with DispatchRole (a role SAM generates adds AWS managed policies)")
            self.check(f"{function}Role" not in resources, f"{function}: SAM generated a role {function}Role")
        self.check("AWSLambdaSQSQueueExecutionRole" not in json.dumps(resources),
                   "AWSLambdaSQSQueueExecutionRole (sqs:ReceiveMessage on every queue) is attached somewhere")
        role = self.props("DispatchRole")
        self.check(role.get("ManagedPolicyArns") == [{"Ref": "DispatchPolicy"}],
                   f"DispatchRole: managed policies are {role.get('ManagedPolicyArns')}, not exactly DispatchPolicy")
        trust = [s for s in statements(role.get("AssumeRolePolicyDocument", {}))]
        self.check([s.get("Principal") for s in trust] == [{"Service": "lambda.amazonaws.com"}],
                   "DispatchRole: only lambda.amazonaws.com may assume it")
        documents = [self.props("DispatchPolicy").get("PolicyDocument", {})]
        documents += [p["PolicyDocument"] for p in role.get("Policies", [])]
        granted = set()
        for document in documents:
            for statement in statements(document):
                if statement.get("Effect") != "Allow":
                    continue
                for action in as_list(statement["Action"]):
                    resource = json.dumps(statement["Resource"], sort_keys=True)
                    granted.add((action, resource))
                    if action.startswith("kms:"):
                        self.kms_statement(statement, action)
                    if action.startswith("sqs:") and action != "sqs:SendMessage":
                        self.check(resource == SEND_QUEUE, f"DispatchRole: {action} on {resource}, not SendQueue only")
        self.check(granted == EXPECTED, f"DispatchRole: rights differ: extra {granted - EXPECTED}, missing {EXPECTED - granted}")
        self.granted = granted
        self.webhook_function()

    def webhook_function(self):
        """The webhook routes' own function: its own role with exactly its rights (the webhook
        secret, never a provider key), its reserved concurrency, its environment."""
        props = self.props("WebhookFunction")
        self.check(props.get("Role") == {"Fn::GetAtt": ["WebhookRole", "Arn"]}, "WebhookFunction: does not run with WebhookRole")
        self.check(props.get("ReservedConcurrentExecutions") == {"Ref": "WebhookReservedConcurrency"},
                   "WebhookFunction: its reserved concurrency is not WebhookReservedConcurrency")
        self.check("WebhookFunctionEventInvokeConfig" not in self.resources,
                   "WebhookFunction: has an asynchronous-invocation destination (it needs none)")
        variables = props.get("Environment", {}).get("Variables", {})
        for key, value in WEBHOOK_ENVIRONMENT.items():
            self.check(variables.get(key) == value, f"WebhookFunction: {key} is {variables.get(key)!r}, expected {value!r}")
        role = self.props("WebhookRole")
        self.check(role.get("ManagedPolicyArns") == [{"Ref": "WebhookPolicy"}] and not role.get("Policies"),
                   "WebhookRole: its policies are not exactly WebhookPolicy")
        trust = [s.get("Principal") for s in statements(role.get("AssumeRolePolicyDocument", {}))]
        self.check(trust == [{"Service": "lambda.amazonaws.com"}], "WebhookRole: only lambda.amazonaws.com may assume it")
        granted = set()
        for statement in statements(self.props("WebhookPolicy").get("PolicyDocument", {})):
            if statement.get("Effect") == "Allow":
                for action in as_list(statement["Action"]):
                    granted.add((action, json.dumps(statement["Resource"], sort_keys=True)))
        self.check(granted == WEBHOOK_RIGHTS,
                   f"WebhookRole: rights differ: extra {granted - WEBHOOK_RIGHTS}, missing {WEBHOOK_RIGHTS - granted}")
        secret = self.resources.get("WebhookSecret", {})
        self.check(secret.get("Type") == "AWS::SecretsManager::Secret", "WebhookSecret: not a secret of the stack")
        # The status bus: every principal but the two roles denied, and other accounts.
        policies = [r["Properties"] for r in self.resources.values() if r["Type"] == "AWS::Events::EventBusPolicy"
                    and r["Properties"].get("EventBusName") == {"Ref": "StatusEventBus"}]
        texts = json.dumps(policies, sort_keys=True)
        roles = [{"Fn::GetAtt": ["DispatchRole", "Arn"]}, {"Fn::GetAtt": ["WebhookRole", "Arn"]}]
        only_roles = any(p.get("Statement", {}).get("Effect") == "Deny" and p["Statement"].get("Principal") == "*"
                         and p["Statement"].get("Action") == "events:PutEvents"
                         and p["Statement"].get("Condition", {}).get("ArnNotEquals", {}).get("aws:PrincipalArn") == roles
                         for p in policies)
        self.check(only_roles, "StatusEventBus: no policy denies events:PutEvents to every principal but the functions' roles")
        self.check('"aws:PrincipalAccount"' in texts, "StatusEventBus: no policy denies other accounts")

    def kms_statement(self, statement, action):
        condition = statement.get("Condition", {})
        via = condition.get("StringEquals", {}).get("kms:ViaService")
        self.check(via is not None, f"{action} without its kms:ViaService condition")
        if statement["Resource"] == {"Ref": "DataKmsKeyArn"}:
            queues = as_list(condition.get("ArnEquals", {}).get("kms:EncryptionContext:aws:sqs:arn", []))
            names = {q.get("Fn::GetAtt", [None])[0] for q in queues if isinstance(q, dict)}
            self.check(queues and names <= KMS_QUEUES and len(names) == len(queues),
                       f"{action} on DataKmsKeyArn is not limited to the stack's queues {sorted(KMS_QUEUES)}: {queues}")
            self.check("sqs." in json.dumps(via), f"{action} on DataKmsKeyArn is not through SQS")

    # ------------------------------------------------------------ EventBridge and SQS producers
    def producers(self):
        rules = [n for n, r in self.resources.items() if r["Type"] == "AWS::Events::Rule"]
        self.check(rules, "no EventBridge rule")
        for name in rules:
            props = self.props(name)
            bus = props.get("EventBusName")
            self.check(bus not in (None, "default") and not str(bus).endswith("event-bus/default"),
                       f"{name}: on the default event bus (EventBusName {bus!r})")
            targets_function = "DispatchFunction" in json.dumps(props.get("Targets", []))
            if targets_function:
                self.check(bus == {"Ref": "SendEventBus"}, f"{name}: sends to the function from {bus}, not SendEventBus")
                pattern = props.get("EventPattern")
                self.check(isinstance(pattern, dict) and pattern.get("account") == [{"Ref": "AWS::AccountId"}],
                           f"{name}: the pattern does not match this account only (account: [AWS::AccountId])")
                self.check(isinstance(pattern, dict) and pattern.get("source") == [{"Ref": "EventSource"}],
                           f"{name}: the pattern does not match the EventSource parameter")
        bus = self.resources.get("SendEventBus", {})
        self.check(bus.get("Type") == "AWS::Events::EventBus", "SendEventBus: not an AWS::Events::EventBus")
        self.check(bus.get("Condition") is None, "SendEventBus: must always exist")
        bus_arn = {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${AWS::StackName}-wa-dispatch-send"}
        self.check(self.props("SendEventBus").get("Name") == {"Fn::Sub": "${AWS::StackName}-wa-dispatch-send"},
                   "SendEventBus: its name is not the one its policy's Resource spells out")
        self.producer_policy("SendEventBus", self.props("SendEventBus").get("Policy", {}), "events:PutEvents", bus_arn)
        queue_policies = [n for n, r in self.resources.items() if r["Type"] == "AWS::SQS::QueuePolicy"
                          and {"Ref": "SendQueue"} in r["Properties"].get("Queues", [])]
        if self.check(len(queue_policies) == 1, f"SendQueue: {len(queue_policies)} queue policies, expected 1"):
            document = self.props(queue_policies[0]).get("PolicyDocument", {})
            queue = {"Fn::GetAtt": ["SendQueue", "Arn"]}
            self.producer_policy(queue_policies[0], document, "sqs:SendMessage", queue)
            tls = [s for s in document.get("Statement", []) if isinstance(s, dict) and s.get("Effect") == "Deny"
                   and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
            self.check(tls and tls[0].get("Action") in ("sqs:*", ["sqs:*"]) and tls[0].get("Principal") == "*",
                       f"{queue_policies[0]}: no Deny of sqs:* without TLS (aws:SecureTransport false)")

    def producer_policy(self, name, document, action, resource):
        """With and without SendProducerPrincipals: the only Allow of `action` names exactly
        the configured principals (this account's root when none), other principals of the
        account are denied when a list is given, other accounts always."""
        for listed in (True, False):
            doc = resolve(document, {"HasProducerPrincipals": listed})
            stmts = [s for s in doc.get("Statement", []) if action in as_list(s.get("Action")) or "sqs:*" in as_list(s.get("Action"))]
            allows = [s for s in stmts if s.get("Effect") == "Allow"]
            denies = [s for s in stmts if s.get("Effect") == "Deny"]
            want = {"Ref": "SendProducerPrincipals"} if listed else ACCOUNT_ROOT
            case = "with SendProducerPrincipals" if listed else "with SendProducerPrincipals empty"
            self.check(len(allows) == 1 and allows[0].get("Principal") == {"AWS": want} and allows[0].get("Resource") == resource,
                       f"{name} ({case}): {action} is not allowed to exactly {want}: {allows}")
            self.check(any(s.get("Principal") == "*" and s.get("Resource") == resource and s.get("Condition")
                           == {"StringNotEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}} for s in denies),
                       f"{name} ({case}): other accounts are not denied {action} (aws:PrincipalAccount)")
            others = [s for s in denies if s.get("Condition") == {"ArnNotEquals": {"aws:PrincipalArn": {"Ref": "SendProducerPrincipals"}}}
                      and s.get("Principal") == "*" and s.get("Resource") == resource]
            if listed:
                self.check(others, f"{name} ({case}): principals not listed are not denied {action} (aws:PrincipalArn)")
            else:
                self.check(not others, f"{name} ({case}): the principal deny must not apply to an empty list")

    # ------------------------------------------------------------ HTTP
    def http(self):
        resources = self.resources
        apis = 0
        for name, resource in resources.items():
            if resource["Type"] == "AWS::Lambda::Url":
                self.check(resource["Properties"].get("AuthType") == "AWS_IAM", f"{name}: a function URL without AWS_IAM")
            if resource["Type"] != "AWS::ApiGatewayV2::Api":
                continue
            apis += 1
            body = resource["Properties"].get("Body", {})
            paths = body.get("paths", {})
            for method, path in AUTHORIZED_PROBES + UNAUTHORIZED_PROBES:
                operation = route_for(paths, method, path)
                if not self.check(operation is not None, f"{name}: {method} {path} matches no route (API Gateway would answer it)"):
                    continue
                if (method, path) in UNAUTHORIZED_PROBES:
                    self.check(not authorized(operation), f"{name}: the webhook route for {method} {path} has an authorizer (a provider cannot pass it)")
                else:
                    self.check(authorized(operation), f"{name}: the route for {method} {path} has no authorization")
                target = json.dumps(operation.get("x-amazon-apigateway-integration", {}).get("uri"))
                if (method, path) in UNAUTHORIZED_PROBES:
                    self.check("WebhookFunction" in target and "DispatchFunction" not in target,
                               f"{name}: {method} {path} is not integrated with WebhookFunction alone")
                else:
                    self.check("DispatchFunction" in target, f"{name}: {method} {path} is not integrated with the function")
            for method, path, operation in operations(paths):
                if not authorized(operation):
                    self.check((method, path) in UNAUTHORIZED, f"{name}: {method} {path} has no authorization (only the webhook routes may)")
            for method, path in UNAUTHORIZED:
                self.check(path in paths and method.lower() in paths[path], f"{name}: no route {method} {path}")
            permission = resources.get(f"{name}InvokePermission", {}).get("Properties", {})
            self.check(json.dumps(permission.get("SourceArn", "")).endswith('${' + name + '}/*"}'),
                       f"{name}: the invoke permission does not cover every route")
            webhook = resources.get(f"{name}WebhookInvokePermission", {}).get("Properties", {})
            self.check(webhook.get("FunctionName") == {"Fn::GetAtt": ["WebhookFunction", "Arn"]}
                       and json.dumps(webhook.get("SourceArn", "")).endswith('${' + name + '}/*/*/v1/webhooks/*"}'),
                       f"{name}: WebhookFunction may be invoked by other routes than the webhooks'")
            iam = "AWS_IAM" in body.get("components", {}).get("securitySchemes", {})
            self.stage(name, iam)
        self.check(apis == 2, f"expected both HTTP API variants (IAM and JWT), found {apis}")
        self.check(self.resources.get("ApiAccessLogGroup", {}).get("Type") == "AWS::Logs::LogGroup",
                   "ApiAccessLogGroup: not a log group of its own")
        print(f"template: {apis} HTTP APIs x {len(AUTHORIZED_PROBES)} authorized and {len(UNAUTHORIZED_PROBES)} webhook requests routed to the function")

    def stage(self, api, iam):
        stages = [r["Properties"] for r in self.resources.values()
                  if r["Type"] == "AWS::ApiGatewayV2::Stage" and r["Properties"].get("ApiId") == {"Ref": api}]
        if not self.check(len(stages) == 1, f"{api}: {len(stages)} stages, expected 1"):
            return
        stage = stages[0]
        throttle = stage.get("DefaultRouteSettings", {})
        self.check(throttle.get("ThrottlingRateLimit") == {"Ref": "ApiThrottlingRateLimit"}
                   and throttle.get("ThrottlingBurstLimit") == {"Ref": "ApiThrottlingBurstLimit"},
                   f"{api}: its stage is not throttled by ApiThrottlingRateLimit and ApiThrottlingBurstLimit")
        routes = stage.get("RouteSettings", {})
        for method, path in sorted(UNAUTHORIZED):
            settings = routes.get(f"{method} {path}", {})
            self.check(settings.get("ThrottlingRateLimit") == {"Ref": "WebhookThrottlingRateLimit"}
                       and settings.get("ThrottlingBurstLimit") == {"Ref": "WebhookThrottlingBurstLimit"},
                       f"{api}: the route {method} {path} is not throttled at the webhooks' own limits")
        logs = stage.get("AccessLogSettings", {})
        self.check(logs.get("DestinationArn") == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
                   f"{api}: its access log does not go to ApiAccessLogGroup")
        try:
            fields = json.loads(logs.get("Format", ""))
        except ValueError:
            self.check(False, f"{api}: its access log format is not JSON")
            return
        for key, variable in ACCESS_LOG_FIELDS.items():
            self.check(fields.get(key) == variable, f"{api}: the access log has no {key} ({variable})")
        caller = IAM_CALLER if iam else JWT_CALLER
        self.check(caller <= set(fields.values()), f"{api}: the access log does not name the caller: missing {sorted(caller - set(fields.values()))}")
        self.check("querystring" not in json.dumps(fields).lower(), f"{api}: the access log must not hold query strings (autocalls' token)")

    # ------------------------------------------------------------ data key, concurrency, wiring
    def data_key(self):
        conditions = self.template.get("Conditions", {})
        self.check(conditions.get("HasDataKmsKey") == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DataKmsKeyArn"}, ""]}]},
                   "condition HasDataKmsKey is not DataKmsKeyArn set")
        dead_letters = set()
        for name, resource in self.resources.items():
            text = resource.get("Properties", {})
            redrive = text.get("RedrivePolicy", {}).get("deadLetterTargetArn")
            on_failure = text.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            for target in [redrive, on_failure] + [t.get("DeadLetterConfig", {}).get("Arn") for t in text.get("Targets", []) if isinstance(t, dict)]:
                if isinstance(target, dict) and "Fn::GetAtt" in target:
                    dead_letters.add(target["Fn::GetAtt"][0])
        self.check({"SendDeadLetterQueue", "EventsDeadLetterQueue"} <= dead_letters, f"dead-letter queues found: {sorted(dead_letters)}")
        for queue in sorted(dead_letters | {"SendQueue"}):
            props = self.props(queue)
            on, off = resolve(props, {"HasDataKmsKey": True}), resolve(props, {"HasDataKmsKey": False})
            self.check(on.get("KmsMasterKeyId") == {"Ref": "DataKmsKeyArn"} and "SqsManagedSseEnabled" not in on,
                       f"{queue}: not encrypted with DataKmsKeyArn when it is set")
            self.check("KmsMasterKeyId" not in off and off.get("SqsManagedSseEnabled") is True,
                       f"{queue}: not SQS-managed encryption when DataKmsKeyArn is empty")
        groups = [n for n, r in self.resources.items() if r["Type"] == "AWS::Logs::LogGroup"]
        for group in groups:
            props = self.props(group)
            self.check(resolve(props, {"HasDataKmsKey": True}).get("KmsKeyId") == {"Ref": "DataKmsKeyArn"}
                       and "KmsKeyId" not in resolve(props, {"HasDataKmsKey": False}),
                       f"{group}: KmsKeyId is not DataKmsKeyArn when set (and absent when empty)")
        self.check(len(groups) >= 2, f"log groups found: {groups}")

    def wiring(self):
        conditions = self.template.get("Conditions", {})
        self.check(conditions.get("HasReservedConcurrency") == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, ""]}]},
                   "condition HasReservedConcurrency is not ReservedConcurrency set")
        self.check(self.props("DispatchFunction").get("ReservedConcurrentExecutions")
                   == {"Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, NO_VALUE]},
                   "DispatchFunction: ReservedConcurrentExecutions is not ReservedConcurrency")
        for function in ("DispatchFunction", "ManagedDispatchFunction"):
            variables = self.props(function).get("Environment", {}).get("Variables", {})
            for key, value in ENVIRONMENT.items():
                self.check(variables.get(key) == value, f"{function}: {key} is {variables.get(key)!r}, expected {value!r}")
        parameters = self.template.get("Parameters", {})
        for name, default in RATE_DEFAULTS.items():
            self.check(parameters.get(name, {}).get("Default") == default,
                       f"parameter {name}: default is not {default!r}")
        self.check(conditions.get("UseSharedRateLimit") == {"Fn::Equals": [{"Ref": "SharedRateLimit"}, "true"]},
                   "condition UseSharedRateLimit is not SharedRateLimit true")
        secret = self.resources.get("FingerprintSecret", {})
        generate = secret.get("Properties", {}).get("GenerateSecretString", {})
        self.check(secret.get("Type") == "AWS::SecretsManager::Secret" and generate.get("PasswordLength", 0) >= 32
                   and generate.get("ExcludePunctuation") is True and "SecretString" not in secret.get("Properties", {}),
                   "FingerprintSecret: not a generated secret of at least 32 characters without punctuation")
        for table in ("StatusTable", "IdempotencyTable"):
            props = self.props(table)
            self.check(props.get("KeySchema") == [{"AttributeName": "id", "KeyType": "HASH"}]
                       and props.get("AttributeDefinitions") == [{"AttributeName": "id", "AttributeType": "S"}]
                       and props.get("TimeToLiveSpecification") == {"AttributeName": "expires_at", "Enabled": True}
                       and props.get("SSESpecification", {}).get("SSEEnabled") is True
                       and props.get("BillingMode") == "PAY_PER_REQUEST",
                       f"{table}: not an on-demand, encrypted table keyed by id (string) with TTL on expires_at")
        outputs = self.template.get("Outputs", {})
        for output in OUTPUTS:
            self.check(output in outputs, f"output {output} is missing")
        urls = json.dumps({k: outputs.get(k) for k in ("MetaWebhookUrl", "AutocallsWebhookUrl")})
        self.check("/v1/webhooks/meta\"" in urls and "/v1/webhooks/autocalls?token=" in urls,
                   "the webhook URL outputs are not <ApiUrl>/v1/webhooks/meta and .../autocalls?token=")

    def alarms(self):
        alarms = {n: r["Properties"] for n, r in self.resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
        for name, props in alarms.items():
            text = json.dumps(props.get("AlarmDescription", ""))
            self.check(not re.search(r"redrive[^.]*to SendQueue", text, re.I), f"{name}: tells on-call to redrive dead letters to SendQueue")
        text = json.dumps(alarms.get("SendDeadLetterQueueAlarm", {}).get("AlarmDescription", ""))
        self.check("new messageId" in text and "without its own idempotency_key" in text,
                   "SendDeadLetterQueueAlarm: does not say that a redriven body without its own key is a new send")
        for name in DEAD_LETTER_ALARMS:
            text = json.dumps(alarms.get(name, {}).get("AlarmDescription", ""))
            self.check(all(word in text for word in ("DELIVERY_UNKNOWN", "DeliveryUnknown", "new idempotency key"))
                       and re.search(r"never (redrive|put)[^.]*as it is", text, re.I),
                       f"{name}: does not say how to tell maybe-sent dead letters apart and never to redrive them as they are")
        for name, metric in STATUS_ALARMS.items():
            queries = [m.get("Expression") for m in alarms.get(name, {}).get("Metrics", [])]
            self.check(f'SELECT SUM({metric}) FROM SCHEMA("WaDispatch", provider)' in queries,
                       f"{name}: no alarm on the sum of WaDispatch/{metric} over every provider")

    def documented(self):
        """docs/deploy.md names (in backticks) every parameter, environment variable,
        resource, alarm and output of the template."""
        names = set(self.template.get("Parameters", {})) | set(self.template.get("Outputs", {}))
        names |= set(self.template.get("Resources", {}))
        names |= set(self.template["Globals"]["Function"]["Environment"]["Variables"])
        missing = sorted(n for n in names if f"`{n}`" not in self.docs)
        self.check(not missing, f"docs/deploy.md does not name: {missing}")
        self.check(not re.search(r"redrive them to SendQueue", self.docs), "docs/deploy.md tells to redrive dead letters to SendQueue")


def main():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    template_path = os.path.join(root, "template.yaml")
    template = load(template_path)
    original = copy.deepcopy(template)
    # `sam build` puts the built artifact in S3; the translator wants such a location.
    template["Globals"]["Function"]["CodeUri"] = "s3://bucket/wa-dispatch.zip"
    try:
        expanded = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as error:
        sys.exit(f"template.yaml does not expand: {error}")
    docs = open(os.path.join(root, "docs", "deploy.md")).read()
    checker = Checker(original, expanded["Resources"], docs)
    checker.template = {**original, "Conditions": expanded.get("Conditions", original.get("Conditions", {})),
                        "Outputs": expanded.get("Outputs", {})}
    checker.rights()
    checker.producers()
    checker.http()
    checker.data_key()
    checker.wiring()
    checker.alarms()
    checker.documented()
    problems = checker.problems + lint_with_managed_instances_on(template_path)

    for problem in problems:
        print("template: " + problem)
    print(f"template: {len(checker.granted)} rights and {checker.checks} facts checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
