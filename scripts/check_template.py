"""Checks what template.yaml grants once SAM has expanded it (aws-sam-translator, which
cfn-lint brings): both variants of the function (classic and Managed Instances) have exactly
the listed rights, every HTTP route needs authorization, no function URL is open, and the
template is cfn-lint clean with the Managed Instances mode on as well as off. Every HTTP API
routes any path and method (a catch-all `$default` route) to the function, authorized. Run by scripts/test.sh; no AWS call is made."""
import json
import os
import subprocess
import sys
import tempfile

from cfnlint.decode.cfn_yaml import load
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

EXPECTED = {
    ("secretsmanager:GetSecretValue", '{"Ref": "ProviderSecretArn"}'),
    ("kms:Decrypt", '{"Ref": "SecretKmsKeyArn"}'),
    ("dynamodb:GetItem", '{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}'),
    ("dynamodb:PutItem", '{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}'),
    ("dynamodb:UpdateItem", '{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}'),
    ("dynamodb:DeleteItem", '{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}'),
    ("sqs:SendMessage", '{"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}'),
}
MANAGED = {"AWSLambdaBasicExecutionRole", "AWSLambdaSQSQueueExecutionRole"}


class NoManagedPolicies(ManagedPolicyLoader):
    """SAM looks managed policy ARNs up in IAM; the two it uses here are well known."""

    def __init__(self):
        pass

    def load(self):
        return {name: f"arn:aws:iam::aws:policy/service-role/{name}" for name in MANAGED}


def statements(policy_document):
    for statement in policy_document.get("Statement", []):
        if isinstance(statement, dict) and "Fn::If" in statement:
            statement = statement["Fn::If"][1]  # the condition's "true" branch; the other is NoValue
        yield statement


def route_for(paths, method, path):
    """The operation API Gateway (HTTP API) would pick for `method path`: an exact route
    with that method, else that route's ANY, else the `$default` route."""
    for candidate in (path, path.rstrip("/")):
        item = paths.get(candidate, {})
        for key in (method.lower(), "x-amazon-apigateway-any-method"):
            if key in item:
                return item[key]
    default = paths.get("/$default", paths.get("$default", {})).get("x-amazon-apigateway-any-method")
    return default if default and default.get("isDefaultRoute") else None


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
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=os.path.dirname(path), delete=False) as copy:
        copy.write(text)
    try:
        lint = subprocess.run([os.path.join(os.path.dirname(sys.executable), "cfn-lint"), copy.name], capture_output=True, text=True)
    finally:
        os.unlink(copy.name)
    if lint.returncode != 0:
        return ["cfn-lint with ManagedInstances=true: " + (lint.stdout + lint.stderr).strip()]
    print("template: cfn-lint clean with ManagedInstances=true")
    return []


def main():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template_path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "template.yaml")
    template = load(template_path)
    # `sam build` puts the built artifact in S3; the translator wants such a location.
    template["Globals"]["Function"]["CodeUri"] = "s3://bucket/wa-dispatch.zip"
    try:
        expanded = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as error:
        sys.exit(f"template.yaml does not expand: {error}")
    resources = expanded["Resources"]
    problems = []

    def rights(policy_document):
        found = set()
        for statement in statements(policy_document):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                found.add((action, json.dumps(statement["Resource"], sort_keys=True)))
            if statement["Action"] == "kms:Decrypt" and "Condition" not in statement:
                problems.append("kms:Decrypt without its ViaService condition")
        return found

    shared = rights(resources["DispatchPolicy"]["Properties"]["PolicyDocument"])
    for function in ("DispatchFunction", "ManagedDispatchFunction"):
        role = resources[f"{function}Role"]["Properties"]
        arns = role.get("ManagedPolicyArns", [])
        if {"Ref": "DispatchPolicy"} not in arns:
            problems.append(f"{function}: DispatchPolicy is not attached")
        managed = {arn.rsplit("/", 1)[-1] if isinstance(arn, str) else json.dumps(arn) for arn in arns if arn != {"Ref": "DispatchPolicy"}}
        if not managed <= MANAGED:
            problems.append(f"{function}: unexpected managed policies: {managed - MANAGED}")
        # SAM's own inline policy for the asynchronous on-failure destination.
        granted = shared.union(*(rights(p["PolicyDocument"]) for p in role.get("Policies", [])))
        if granted != EXPECTED:
            problems.append(f"{function}: rights differ: extra {granted - EXPECTED}, missing {EXPECTED - granted}")

    # Every path and method must reach the function (which answers the contract's 404/405
    # documents itself), through an authorized route: API Gateway must never answer a route
    # miss with its own {"message":"Not Found"}.
    probes = [("GET", "/v1/health"), ("POST", "/v1/messages"), ("POST", "/v1/messages/batch"),
              ("GET", "/no/such/path"), ("DELETE", "/v1/messages"), ("POST", "/prod/v1/messages")]
    apis = 0
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Url" and resource["Properties"].get("AuthType") != "AWS_IAM":
            problems.append(f"{name}: a function URL without AWS_IAM")
        if resource["Type"] != "AWS::ApiGatewayV2::Api":
            continue
        apis += 1
        paths = resource["Properties"].get("Body", {}).get("paths", {})
        for method, path in probes:
            operation = route_for(paths, method, path)
            if operation is None:
                problems.append(f"{name}: {method} {path} matches no route (API Gateway would answer it)")
                continue
            if not operation.get("security"):
                problems.append(f"{name}: the route for {method} {path} has no authorization")
            target = json.dumps(operation.get("x-amazon-apigateway-integration", {}).get("uri"))
            if "DispatchFunction" not in target:
                problems.append(f"{name}: {method} {path} is not integrated with the function")
        permission = resources.get(f"{name}InvokePermission", {}).get("Properties", {})
        if not json.dumps(permission.get("SourceArn", "")).endswith('${' + name + '}/*"}'):
            problems.append(f"{name}: the invoke permission does not cover every route")
    if apis < 2:
        problems.append(f"expected both HTTP API variants (IAM and JWT), found {apis}")
    print(f"template: {apis} HTTP APIs x {len(probes)} requests routed to the function with authorization")

    problems += lint_with_managed_instances_on(template_path)

    for problem in problems:
        print("template: " + problem)
    print(f"template: {len(granted)} rights checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
