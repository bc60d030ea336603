"""moto_server with the CloudFormation gaps listed below patched, for the deploy tests.

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
6. AWS::KMS::Key with Tags crashed (moto passed CloudFormation's Key/Value tags to a service that
   wants TagKey/TagValue): tags are converted first.
7. An AWS::EC2::Instance taking its ImageId from a LaunchTemplate crashed (KeyError 'ImageId'): the
   image is read from the launch template's latest version.
8. AWS::ElasticLoadBalancingV2::LoadBalancer ignored `Type: network`, so a network load balancer's
   TCP listener was refused: the type (and subnet mappings) are passed on.
9. UpdateTerminationProtection was missing, and DeleteStack ignored protection: added, and a delete
   of a protected stack fails with AWS's message.
10. `!GetAtt Interface.Id` on an AWS::EC2::NetworkInterface (documented by CloudFormation) was refused:
   it returns the interface ID.
11. An AWS::EC2::Instance ignored its `NetworkInterfaces`: with no instance-level SubnetId it was built
   as an EC2-Classic instance in the default VPC with a public IP, whatever the template said. The
   interfaces are now passed to the EC2 model as RunInstances passes them (SubnetId, PrivateIpAddress
   or a primary PrivateIpAddresses entry, GroupSet, AssociatePublicIpAddress, DeleteOnTermination,
   Description; an existing interface by NetworkInterfaceId, the instance placed in its subnet's
   Availability Zone), and the instance's security groups are its primary interface's, as
   DescribeInstances reports them on AWS. So the instance lands in the template's subnet and VPC, with
   its fixed address and groups, and has a public IP only when asked (or through an Elastic IP on an
   existing interface).
12. An AWS::EC2::NetworkInterface read its groups from `SecurityGroups`, a property CloudFormation does
   not have, and ignored `GroupSet`, so it got the VPC's default group; its Tags were dropped. Both
   are passed on.
13. AWS::EC2::EIPAssociation had no model, so it was skipped silently and an Elastic IP meant for an
   interface (the VPN gateway's) stayed unassociated: the type is added (AllocationId or EIP, to
   InstanceId or NetworkInterfaceId; Ref is the association ID), and deleting it disassociates.
14. ListChangeSets ignored StackName and listed every change set ever made, executed ones and those of
   deleted stacks included: it lists the given stack's change sets that were not executed, and deleting a
   stack deletes its change sets, as CloudFormation does.
15. AWS::EC2::SubnetRouteTableAssociation only noted the pair: DescribeRouteTables listed no
   association, so every subnet seemed to use its VPC's main route table (and a public subnet had no
   route to the internet gateway). The subnet is now associated with the table as
   AssociateRouteTable does; Ref is the association ID (rtbassoc-...), and deleting it disassociates.
16. An instance launched from a launch template (by an auto scaling group, or RunInstances) ignored the
   template's NetworkInterfaces: it got the VPC's default security group, and a public IP by the
   subnet's setting rather than the template's AssociatePublicIpAddress. The template's interfaces are
   now passed on (the group's subnet for the primary one), and DescribeInstances reports the primary
   interface's groups as the instance's, as AWS does.
17. AWS::ElasticLoadBalancingV2::TargetGroup ignored `Targets` and `TargetGroupAttributes`, and a
   TCP/UDP/TLS target group had no `preserve_client_ip.enabled` attribute: targets are registered,
   attributes set, and that attribute gets AWS's default (on for instance targets; for IP targets only
   with UDP and TCP_UDP).
18. An AWS::EC2::Instance ignored `DisableApiTermination` (DescribeInstanceAttribute said false for an instance
   the template protects): it is set on the instance. (Deleting the stack still terminates it, as before.)
"""
import sys

import yaml
from moto.cloudformation import models, parsing, responses
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ec2.models import instances as ec2_instances
from moto.elbv2 import models as elbv2_models
from moto.kms import models as kms_models


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


_create_kms_key = kms_models.Key.create_from_cloudformation_json.__func__


def create_kms_key(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json.get("Properties", {})
    properties["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties.get("Tags", [])]
    return _create_kms_key(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


kms_models.Key.create_from_cloudformation_json = classmethod(create_kms_key)


_create_instance = ec2_instances.Instance.create_from_cloudformation_json.__func__


def cfn_true(value):
    """CloudFormation takes a Boolean property as true/false or as the strings "true"/"false"."""
    return value is True or str(value).lower() == "true"


def run_instance_interface(backend, spec):
    """One CloudFormation NetworkInterface as moto's run_instances takes it (the RunInstances shape)."""
    nic = {"DeviceIndex": int(spec.get("DeviceIndex", 0))}
    if spec.get("NetworkInterfaceId"):
        nic["NetworkInterfaceId"] = spec["NetworkInterfaceId"]
        backend.get_network_interface(spec["NetworkInterfaceId"])  # an unknown ID fails the resource
        return nic
    for key in ("SubnetId", "PrivateIpAddress", "PrivateIpAddresses", "Description"):
        if spec.get(key):
            nic[key] = spec[key]
    nic["Groups"] = list(spec.get("GroupSet") or [])
    nic["AssociatePublicIpAddress"] = cfn_true(spec.get("AssociatePublicIpAddress", False))
    nic["DeleteOnTermination"] = cfn_true(spec.get("DeleteOnTermination", True))
    return nic


def create_instance_with_interfaces(backend, resource_name, properties):
    nics = [run_instance_interface(backend, spec) for spec in properties["NetworkInterfaces"]]
    primary = next((n for n in nics if n["DeviceIndex"] == 0), None)
    if primary is None:
        raise ValidationError(message=f"{resource_name}: NetworkInterfaces has no DeviceIndex 0")
    extra = {}
    if "NetworkInterfaceId" in primary:
        extra["placement"] = backend.get_network_interface(primary["NetworkInterfaceId"]).subnet.availability_zone
    reservation = backend.run_instances(
        image_id=properties["ImageId"],
        user_data=properties.get("UserData"),
        count=1,
        security_group_names=[],
        instance_type=properties.get("InstanceType", "m1.small"),
        is_instance_type_default=not properties.get("InstanceType"),
        key_name=properties.get("KeyName"),
        nics=nics,
        associate_public_ip=False,
        block_device_mappings=properties.get("BlockDeviceMappings", {}),
        **extra,
    )
    instance = reservation.instances[0]
    instance.security_groups = list(instance.nics[0].group_set)
    for tag in properties.get("Tags", []):
        instance.add_tag(tag["Key"], tag["Value"])
    if properties.get("IamInstanceProfile"):
        backend.associate_iam_instance_profile(
            instance_id=instance.id, iam_instance_profile_name=properties["IamInstanceProfile"]
        )
    return instance


def create_instance(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json.setdefault("Properties", {})
    backend = ec2_backends[account_id][region_name]
    launch_template = properties.get("LaunchTemplate")
    if "ImageId" not in properties and launch_template and launch_template.get("LaunchTemplateId"):
        data = backend.get_launch_template(launch_template["LaunchTemplateId"]).latest_version().data
        properties["ImageId"] = data.get("ImageId", "ami-0123456789abcdef0")
    if properties.get("NetworkInterfaces"):
        instance = create_instance_with_interfaces(backend, resource_name, properties)
    else:
        instance = _create_instance(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    instance.disable_api_termination = cfn_true(properties.get("DisableApiTermination", False))
    return instance


ec2_instances.Instance.create_from_cloudformation_json = classmethod(create_instance)


def create_load_balancer(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json["Properties"]
    return elbv2_models.elbv2_backends[account_id][region_name].create_load_balancer(
        resource_name,
        properties.get("SecurityGroups"),
        properties.get("Subnets"),
        subnet_mappings=properties.get("SubnetMappings"),
        scheme=properties.get("Scheme", "internet-facing"),
        loadbalancer_type=properties.get("Type", "application"),
    )


elbv2_models.FakeLoadBalancer.create_from_cloudformation_json = classmethod(create_load_balancer)


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

from moto.ec2.models import elastic_network_interfaces as ec2_enis

_eni_get_cfn_attribute = ec2_enis.NetworkInterface.get_cfn_attribute


def eni_get_cfn_attribute(self, attribute_name):
    if attribute_name == "Id":
        return self.id
    return _eni_get_cfn_attribute(self, attribute_name)


ec2_enis.NetworkInterface.get_cfn_attribute = eni_get_cfn_attribute

_create_eni = ec2_enis.NetworkInterface.create_from_cloudformation_json.__func__


def create_eni(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json.setdefault("Properties", {})
    if "GroupSet" in properties:
        properties["SecurityGroups"] = list(properties["GroupSet"])
    eni = _create_eni(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    for tag in properties.get("Tags", []):
        eni.add_tag(tag["Key"], tag["Value"])
    return eni


ec2_enis.NetworkInterface.create_from_cloudformation_json = classmethod(create_eni)



class EipAssociation(CloudFormationModel):
    """AWS::EC2::EIPAssociation: an Elastic IP associated with an instance or a network interface."""

    __module__ = "moto.ec2.models.elastic_ip_addresses"  # moto files every model under its service's package

    def __init__(self, backend, eip):
        self.backend = backend
        self.eip = eip
        self.association_id = eip.association_id or eip.public_ip

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::EC2::EIPAssociation"

    @classmethod
    def has_cfn_attr(cls, attr):
        return False

    @property
    def physical_resource_id(self):
        return self.association_id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        backend = ec2_backends[account_id][region_name]
        instance = backend.get_instance_by_id(properties["InstanceId"]) if properties.get("InstanceId") else None
        eni = backend.get_network_interface(properties["NetworkInterfaceId"]) if properties.get("NetworkInterfaceId") else None
        if instance is None and eni is None:
            raise ValidationError(message=f"{resource_name}: an EIPAssociation needs InstanceId or NetworkInterfaceId")
        eip = backend.associate_address(
            instance=instance, eni=eni, address=properties.get("EIP"), allocation_id=properties.get("AllocationId")
        )
        return cls(backend, eip)

    def delete(self, account_id, region_name):
        if self.eip.association_id == self.association_id or (self.eip.domain != "vpc" and self.eip.eni is not None):
            self.backend.disassociate_address(address=self.eip.public_ip)


from moto.ec2.models import subnets as ec2_subnets


class SubnetRouteTableAssociation(CloudFormationModel):
    """AWS::EC2::SubnetRouteTableAssociation that associates, as AssociateRouteTable does."""

    __module__ = "moto.ec2.models.subnets"

    def __init__(self, backend, association_id):
        self.backend = backend
        self.association_id = association_id

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::EC2::SubnetRouteTableAssociation"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name):
        if attribute_name == "Id":
            return self.association_id
        raise UnformattedGetAttTemplateException()

    @property
    def physical_resource_id(self):
        return self.association_id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = ec2_backends[account_id][region_name]
        association_id = backend.associate_route_table(properties["RouteTableId"], subnet_id=properties["SubnetId"])
        return cls(backend, association_id)

    def delete(self, account_id, region_name):
        for table in self.backend.route_tables.values():
            table._associations.pop(self.association_id, None)


ec2_subnets.SubnetRouteTableAssociation = SubnetRouteTableAssociation

_run_instances = ec2_instances.InstanceBackend.run_instances


def template_interfaces(backend, launch_template, subnet_id):
    """A launch template's NetworkInterfaces as RunInstances nics; the primary one in `subnet_id` unless it names one."""
    specs = backend._get_template_from_args(launch_template).data.get("NetworkInterfaces") or []
    nics = []
    for spec in specs:
        device_index = int(spec.get("DeviceIndex", 0))
        nic = {"DeviceIndex": device_index}
        if spec.get("NetworkInterfaceId"):
            nic["NetworkInterfaceId"] = spec["NetworkInterfaceId"]
            nics.append(nic)
            continue
        subnet = spec.get("SubnetId") or (subnet_id if device_index == 0 else None)
        if subnet:
            nic["SubnetId"] = subnet
        for key in ("PrivateIpAddress", "Description"):
            if spec.get(key):
                nic[key] = spec[key]
        nic["Groups"] = list(spec.get("Groups") or [])
        if "AssociatePublicIpAddress" in spec:
            nic["AssociatePublicIpAddress"] = cfn_true(spec["AssociatePublicIpAddress"])
        nic["DeleteOnTermination"] = cfn_true(spec.get("DeleteOnTermination", True))
        nics.append(nic)
    return nics


def run_instances(self, image_id, count, user_data, security_group_names, **kwargs):
    if kwargs.get("launch_template") and not kwargs.get("nics"):
        nics = template_interfaces(self, kwargs["launch_template"], kwargs.get("subnet_id"))
        if nics:
            kwargs["nics"] = nics
    reservation = _run_instances(self, image_id, count, user_data, security_group_names, **kwargs)
    for instance in reservation.instances:
        if 0 in instance.nics and not instance.security_groups:
            instance.security_groups = list(instance.nics[0].group_set)
    return reservation


ec2_instances.InstanceBackend.run_instances = run_instances

_create_target_group = elbv2_models.FakeTargetGroup.create_from_cloudformation_json.__func__


def create_target_group(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    target_group = _create_target_group(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    properties = cloudformation_json["Properties"]
    if target_group.protocol in ("TCP", "UDP", "TCP_UDP", "TLS"):
        preserve = target_group.target_type == "instance" or target_group.protocol in ("UDP", "TCP_UDP")
        target_group.attributes["preserve_client_ip.enabled"] = "true" if preserve else "false"
    for attribute in properties.get("TargetGroupAttributes", []):
        target_group.attributes[attribute["Key"]] = str(attribute["Value"])
    targets = [{k: v for k, v in t.items() if k in ("Id", "Port", "AvailabilityZone")} for t in properties.get("Targets", [])]
    if targets:
        target_group.register(targets)
    return target_group


elbv2_models.FakeTargetGroup.create_from_cloudformation_json = classmethod(create_target_group)


parsing.get_model_list.cache_clear()
parsing.get_model_map.cache_clear()
parsing.get_name_type_map.cache_clear()

_list_change_sets_response = responses.CloudFormationResponse.list_change_sets


def list_change_sets(self):
    wanted = self._get_param("StackName")
    backend = self.cloudformation_backend
    change_sets = [
        c
        for c in backend.change_sets.values()
        if wanted in (c.stack_name, c.stack_id)
        and c.execution_status != "EXECUTE_COMPLETE"
        and c.stack_id in backend.stacks
    ]
    return ActionResult({"Summaries": change_sets})


responses.CloudFormationResponse.list_change_sets = list_change_sets

_delete_stack_with_change_sets = models.CloudFormationBackend.delete_stack


def delete_stack_with_change_sets(self, name_or_stack_id):
    ids = {s.stack_id for s in self.stacks.values() if name_or_stack_id in (s.name, s.stack_id)}
    _delete_stack_with_change_sets(self, name_or_stack_id)
    for key, change_set in list(self.change_sets.items()):
        if change_set.stack_id in ids:
            del self.change_sets[key]


models.CloudFormationBackend.delete_stack = delete_stack_with_change_sets

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
