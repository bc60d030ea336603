"""moto_server with three CloudFormation gaps patched, for the deploy tests.

Usage: python3 test/moto-server.py -p PORT   (same arguments as moto_server)

1. `!GetAtt Child.Outputs.X` on a nested stack crashed the server (HTTP 500):
   Stack.get_cfn_attribute now resolves `Outputs.*` from the child's outputs.
2. Its YAML reader split `!GetAtt A.Outputs.X` at every dot and built nested short-form tags
   shallowly: GetAtt is split once, and tagged nodes are constructed deep.
3. A stack created or updated through a change set kept its old Outputs: ChangeSet.apply re-parses
   the template and rebuilds the output map.
4. A nested stack was updated by deleting it and creating a new one, so a retained named resource
   (a log group) made the update fail with HTTP 400: nested stacks are now updated in place, as
   CloudFormation does.
5. A modified resource whose type has no update support in moto (a log group) became None, so a
   Ref or output to it vanished: it now keeps the original resource (its properties are not changed).
6. UpdateTerminationProtection was missing, and DeleteStack ignored protection: added, and a delete
   of a protected stack fails with AWS's message.
"""
import sys

import yaml
from moto.cloudformation import models, parsing, responses
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
from moto.core.responses import ActionResult


def yaml_tag_constructor(loader, tag, node):
    key = "Ref" if tag == "!Ref" else f"Fn::{tag[1:]}"
    if tag == "!GetAtt" and isinstance(node, yaml.ScalarNode):
        return {key: node.value.split(".", 1)}
    if isinstance(node, yaml.SequenceNode):
        return {key: loader.construct_sequence(node, deep=True)}
    if isinstance(node, yaml.MappingNode):
        return {key: loader.construct_mapping(node, deep=True)}
    return {key: loader.construct_scalar(node)}


models.yaml_tag_constructor = yaml_tag_constructor
responses.yaml_tag_constructor = yaml_tag_constructor


def get_cfn_attribute(self, attribute_name):
    if attribute_name.startswith("Outputs."):
        wanted = attribute_name[len("Outputs."):]
        for output in self.outputs or []:
            if output["OutputKey"] == wanted:
                return output["OutputValue"]
    raise UnformattedGetAttTemplateException()


models.Stack.get_cfn_attribute = get_cfn_attribute

_apply = models.ChangeSet.apply


def apply(self):
    _apply(self)
    self.stack.template = self.template
    self.stack._parse_template()
    self.stack.output_map = self.stack._create_output_map()
    self.stack.description = self.stack.template_dict.get("Description")


models.ChangeSet.apply = apply


def update_nested_stack(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    properties = cloudformation_json["Properties"]
    template = models.get_stack_from_s3_url(
        properties["TemplateURL"], account_id=account_id, partition=models.get_partition(region_name)
    )
    original_resource.update(template, parameters=properties.get("Parameters", {}))
    return original_resource


models.Stack.update_from_cloudformation_json = classmethod(update_nested_stack)


_parse_and_update_resource = parsing.parse_and_update_resource


def parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name):
    original = resources_map._parsed_resources.get(logical_id)
    updated = _parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name)
    return original if updated is None else updated


parsing.parse_and_update_resource = parse_and_update_resource


def update_termination_protection(self):
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = self._get_param("EnableTerminationProtection") in (True, "true")
    return ActionResult({"StackId": stack.stack_id})


responses.CloudFormationResponse.update_termination_protection = update_termination_protection

_delete_stack = models.CloudFormationBackend.delete_stack


def delete_stack(self, name_or_stack_id):
    for stack in list(self.stacks.values()):
        if name_or_stack_id in (stack.name, stack.stack_id) and stack.enable_termination_protection:
            raise ValidationError(
                message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"
            )
    _delete_stack(self, name_or_stack_id)


models.CloudFormationBackend.delete_stack = delete_stack

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
