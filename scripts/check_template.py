"""Checks what template.yaml grants once SAM has expanded it (aws-sam-translator, which
cfn-lint brings): the function's rights are exactly the listed ones, every HTTP route needs
authorization, and no function URL is open. Run by scripts/test.sh; no AWS call is made."""
import json
import os
import sys

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


def main():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = load(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "template.yaml"))
    # `sam build` puts the built artifact in S3; the translator wants such a location.
    template["Resources"]["DispatchFunction"]["Properties"]["CodeUri"] = "s3://bucket/wa-dispatch.zip"
    try:
        expanded = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as error:
        sys.exit(f"template.yaml does not expand: {error}")
    resources = expanded["Resources"]
    problems = []

    role = resources["DispatchFunctionRole"]["Properties"]
    managed = {arn.rsplit("/", 1)[-1] if isinstance(arn, str) else json.dumps(arn) for arn in role.get("ManagedPolicyArns", [])}
    if not managed <= MANAGED:
        problems.append(f"unexpected managed policies: {managed - MANAGED}")
    granted = set()
    for policy in role.get("Policies", []):
        for statement in statements(policy["PolicyDocument"]):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                granted.add((action, json.dumps(statement["Resource"], sort_keys=True)))
            if statement["Action"] == "kms:Decrypt" and "Condition" not in statement:
                problems.append("kms:Decrypt without its ViaService condition")
    if granted != EXPECTED:
        problems.append(f"rights differ: extra {granted - EXPECTED}, missing {EXPECTED - granted}")

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

    for problem in problems:
        print("template: " + problem)
    print(f"template: {len(granted)} rights checked, {routes} routes checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
