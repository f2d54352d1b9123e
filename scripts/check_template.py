"""Checks what template.yaml grants once SAM has expanded it (aws-sam-translator, which
cfn-lint brings): both variants of the function (classic and Managed Instances) have exactly
the listed rights, every HTTP route needs authorization, no function URL is open, and the
template is cfn-lint clean with the Managed Instances mode on as well as off. Run by scripts/test.sh; no AWS call is made."""
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

    routes = 0
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Url" and resource["Properties"].get("AuthType") != "AWS_IAM":
            problems.append(f"{name}: a function URL without AWS_IAM")
        if resource["Type"] == "AWS::ApiGatewayV2::Api":
            for path, methods in resource["Properties"].get("Body", {}).get("paths", {}).items():
                for method, operation in methods.items():
                    routes += 1
                    if not operation.get("security"):
                        problems.append(f"{name} {method.upper()} {path}: no authorization")
    if routes < 6:
        problems.append(f"expected the 3 routes on both API variants, found {routes} operations")

    problems += lint_with_managed_instances_on(template_path)

    for problem in problems:
        print("template: " + problem)
    print(f"template: {len(granted)} rights checked, {routes} routes checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
