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
18. AWS::SSM::Parameter with Tags crashed (HTTP 500): CloudFormation writes them as a map, moto wanted a list of
   Key/Value pairs; they are converted first.
19. AWS::EC2::SubnetCidrReservation had no model, so it was skipped silently, and EC2 handed out addresses of an
   explicit reservation by itself: the type is added (Ref is the reservation ID; deleting it removes it), and an
   address EC2 assigns (an instance without a fixed one) is never inside an explicit reservation, as EC2 does. An
   instance may still take a fixed address there (that is what explicit means).
20. A change set of an update computed its changes from the template alone, so new parameter values changed
   nothing in it (and a deploy of a new image looked like "no changes"): a resource that refers to a parameter
   whose value changes is a Modify, as CloudFormation shows it.
21. A CREATE change set whose execution failed returned an error (HTTP 400/500) and left the stack
   CREATE_IN_PROGRESS with everything made so far: the execution now succeeds and the create rolls back as
   CloudFormation's does. The failed resource gets a CREATE_FAILED event with the service's message (in a nested
   stack: in that stack's events, readable by its ARN once deleted, and echoed in the root as the nested stack's
   CREATE_FAILED "Embedded stack ... was not successfully created" whose PhysicalResourceId is that ARN), every
   resource made so far is deleted (nested stacks first, and those whose DeletionPolicy is RetainExceptOnCreate
   too; only Retain keeps one), nested stacks end DELETE_COMPLETE and the stack ROLLBACK_COMPLETE.
22. DeleteStack deleted resources whose DeletionPolicy is RetainExceptOnCreate: they are kept, like Retain, except
   when a failed create rolls back (21).
23. Deleting a stack left many of its resources in place, silently: moto has no CloudFormation delete for EBS
   volumes, route tables, routes, subnet associations, VPC endpoints, gateway attachments, internet and NAT
   gateways, Elastic IPs, flow logs, security group rules, listeners and target groups, and no model at all for
   AWS::S3::BucketPolicy (never set, so a bucket that does not exist never failed a create). Each is deleted as
   CloudFormation deletes it (a volume still attached to a terminated instance is detached first; an auto scaling
   group whose target groups went first is deleted all the same), and a bucket policy is set on, and removed
   from, its bucket.
24. An instance an auto scaling group launched from a launch template got moto's default 8 GiB root volume beside
   the template's root volume, and a network interface that ignored the template's (its groups and
   DeleteOnTermination), so terminating it left both behind: it is launched with the template's block device
   mappings, and its interface is the template's (gap 16), as EC2 launches it.

25. An AWS::EC2::Instance ignored `DisableApiTermination` (DescribeInstanceAttribute said false for an instance
   the template protects): it is set on the instance. (Deleting the stack still terminates it, as before.)

26. A change set made with IncludeNestedStacks had no nested change sets: a nested stack's ResourceChange carried no
   ChangeSetId, so what an update does inside a nested stack could not be read. Now, as on AWS, each nested stack the
   change set adds or modifies gets its own change set (none for one it removes), named by ChangeSetId on the parent's
   ResourceChange, recursively: computed from the nested stack's new template (its TemplateURL, from moto's S3) and the
   Parameters the parent passes it, resolved with the parent's new parameter values (so gap 20 shows a new value there
   too; an output of a stack not made yet is {{changeSet:KNOWN_AFTER_APPLY}}); for a stack the execution creates, every
   resource is an Add. DescribeChangeSet on it gives the nested stack's StackId/StackName, its Changes and Parameters,
   ParentChangeSetId, RootChangeSetId and IncludeNestedStacks; Status CREATE_COMPLETE, ExecutionStatus UNAVAILABLE with
   StatusReason "Only executable from the root change set." (what AWS answers, as users of it report), and executing it
   alone fails with InvalidChangeSetStatus. Executing the root executes them (moto updates nested stacks with their
   parent, gap 4), and deleting the root change set, or its stack, deletes them. A nested template moto cannot read
   fails the root change set (FAILED, with why). Like every moto change set they carry no property Details (their
   Replacement: gap 27).

27. A change set's Modify changes carried no Replacement value (AWS gives one to every Modify), so a deploy's data
   gate could not tell an update in place from a replacement (it now counts a missing value as a possible
   replacement). Each Modify gets one: True when a property the type cannot update in place changes (its value, or
   a parameter it refers to; the type's createOnlyProperties, from the registry schemas cfn-lint ships), Conditional
   when it refers to a resource that is replaced, False otherwise. Property-level Details are still not given.

For tests, not a gap: with DCOS_CFN_MOTO_FAIL_CREATE=LogicalId in its environment, the launcher fails the creation
of every resource with that logical ID, the way AWS fails one it cannot make (a quota, capacity, a bad image): the
way to show what a failed create leaves behind.
"""
import ipaddress
import json
import os
import re
import sys

import yaml
from moto.cloudformation import models, parsing, responses
from moto.cloudformation.exceptions import CloudFormationError, UnformattedGetAttTemplateException, ValidationError
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


from moto.ssm import models as ssm_models

_create_ssm_parameter = ssm_models.Parameter.create_from_cloudformation_json.__func__


def create_ssm_parameter(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json.setdefault("Properties", {})
    if isinstance(properties.get("Tags"), dict):
        properties["Tags"] = [{"Key": k, "Value": v} for k, v in properties["Tags"].items()]
    return _create_ssm_parameter(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


ssm_models.Parameter.create_from_cloudformation_json = classmethod(create_ssm_parameter)

from moto.ec2.models import subnets as ec2_subnets


class SubnetCidrReservationModel(CloudFormationModel):
    """AWS::EC2::SubnetCidrReservation: a range of a subnet EC2 assigns nothing from by itself (explicit)."""

    __module__ = "moto.ec2.models.subnets"

    def __init__(self, backend, reservation):
        self.backend = backend
        self.reservation = reservation

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::EC2::SubnetCidrReservation"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr in ("SubnetCidrReservationId", "OwnerId")

    def get_cfn_attribute(self, attribute_name):
        if attribute_name == "SubnetCidrReservationId":
            return self.reservation.id
        return self.reservation.owner_id

    @property
    def physical_resource_id(self):
        return self.reservation.id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        backend = ec2_backends[account_id][region_name]
        reservation = backend.create_subnet_cidr_reservation(
            subnet_id=properties["SubnetId"], reservation_type=properties["ReservationType"], cidr=properties["Cidr"]
        )
        return cls(backend, reservation)



_get_available_subnet_ip = ec2_subnets.Subnet.get_available_subnet_ip


def get_available_subnet_ip(self, instance):
    reserved = [r.cidr for r in self._cidr_reservations if r.reservation_type == "explicit"]
    skipped = []
    try:
        while True:
            address = _get_available_subnet_ip(self, instance)
            if not any(ipaddress.ip_address(address) in cidr for cidr in reserved):
                return address
            skipped.append(address)
    finally:
        for address in skipped:  # held back for good: EC2 never assigns a reserved address by itself
            self._subnet_ips.pop(address, None)


ec2_subnets.Subnet.get_available_subnet_ip = get_available_subnet_ip

parsing.get_model_list.cache_clear()
parsing.get_model_map.cache_clear()
parsing.get_name_type_map.cache_clear()


def referenced_names(value):
    """Names a template value refers to: Ref, and ${Name} in Fn::Sub."""
    found = set(parsing.get_references_from_template(value))
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found.update(n.split(".")[0] for n in re.findall(r"\$\{(?!!)([^}]+)\}", text))
            found.update(referenced_names(item))
    elif isinstance(value, list):
        for item in value:
            found.update(referenced_names(item))
    return found


def parameter_string(value):
    """A parameter value as CloudFormation passes it: a string, a list joined with commas (moto keeps lists and numbers)."""
    if value is None:
        return None
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def diff_with_parameters(self):
    resource_map = self.stack.resource_map
    by_action = resource_map.build_resource_diff(self.template_dict)
    if self.change_set_type == "UPDATE":
        new_declared = self.template_dict.get("Parameters", {}) or {}
        old_declared = (resource_map._template or {}).get("Parameters", {}) or {}

        def value(given, declared, name):
            return parameter_string(given.get(name, (declared.get(name) or {}).get("Default")))

        changed = {
            name
            for name in set(new_declared) | set(old_declared)
            if value(self.parameters, new_declared, name) != value(resource_map.input_parameters, old_declared, name)
        }
        for name, resource in self.template_dict.get("Resources", {}).items():
            if name in resource_map._resource_json_map and name not in by_action["Modify"] and changed & referenced_names(resource):
                by_action["Modify"].append(name)
    template_resources = self.template_dict.get("Resources", {})
    replacement = replacements(by_action.get("Modify", []), resource_map._resource_json_map, template_resources, changed if self.change_set_type == "UPDATE" else set())
    changes = []
    for action, names in by_action.items():
        for name in names:
            resource = template_resources.get(name) or resource_map._resource_json_map.get(name, {})
            change = models.Change(action=action, logical_resource_id=name, resource_type=resource.get("Type"))
            if action == "Modify":
                change.replacement = replacement[name]
            changes.append(change)
    return changes


CREATE_ONLY = {}


def create_only_properties(resource_type):
    """The properties whose change replaces a resource of the type: createOnlyProperties of its registry schema (cfn-lint's copy)."""
    if resource_type not in CREATE_ONLY:
        try:
            from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
            CREATE_ONLY[resource_type] = {p.split("/")[2] for p in schema.get("createOnlyProperties", []) if p.startswith("/properties/")}
        except Exception:  # an unknown type: every change may replace it
            CREATE_ONLY[resource_type] = None
    return CREATE_ONLY[resource_type]


def replacements(modified, old_resources, new_resources, changed_parameters):
    """Replacement of each modified resource, as CloudFormation reports it (gap 27): True when a property it cannot
    update in place changes (its value, or a parameter it refers to), Conditional when it refers to a resource that is
    replaced (the new ID is known only then), False otherwise."""
    result = {}
    for name in modified:
        old = (old_resources.get(name) or {}).get("Properties") or {}
        new = (new_resources.get(name) or {}).get("Properties") or {}
        props = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
        props |= {k for k, v in new.items() if referenced_names(v) & changed_parameters}
        create_only = create_only_properties((new_resources.get(name) or old_resources.get(name) or {}).get("Type"))
        result[name] = "True" if create_only is None or props & create_only else "False"
    settled = False
    while not settled:
        settled = True
        replaced = {n for n, r in result.items() if r in ("True", "Conditional")}
        for name in modified:
            if result[name] == "False" and referenced_names((new_resources.get(name) or {}).get("Properties") or {}) & replaced:
                result[name] = "Conditional"
                settled = False
    return result


models.ChangeSet.diff = diff_with_parameters

# Stacks whose failed create is being rolled back: their RetainExceptOnCreate resources go too (18, 19).
ROLLING_BACK = set()


def delete_resources(self):
    keep = {"Retain"} if self.stack_id in ROLLING_BACK else {"Retain", "RetainExceptOnCreate"}
    remaining = {k for k, v in self._resource_json_map.items() if v.get("DeletionPolicy") not in keep}
    last_exception = None
    previous = len(remaining) + 1
    while remaining and len(remaining) < previous:
        previous = len(remaining)
        for name in remaining.copy():
            parsed = self._parsed_resources.get(name)
            try:
                if not isinstance(parsed, str) and parsed is not None:
                    self._delete_resource(parsed, self._resource_json_map[name])
                    self._parsed_resources.pop(name)
            except Exception as e:  # a dependency not deleted yet: the next pass
                last_exception = e
            else:
                remaining.remove(name)
    if remaining and last_exception is not None:
        raise last_exception


parsing.ResourceMap.delete = delete_resources

_parse_and_create_resource = parsing.parse_and_create_resource


FAIL_CREATE = os.environ.get("DCOS_CFN_MOTO_FAIL_CREATE")


def parse_and_create_resource_noting_failure(logical_id, resource_json, resources_map, account_id, region_name):
    try:
        if logical_id == FAIL_CREATE:
            raise ValidationError(message=f"{logical_id} could not be created (DCOS_CFN_MOTO_FAIL_CREATE)")
        return _parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name)
    except Exception as error:
        if not hasattr(error, "dcos_cfn_failed"):
            error.dcos_cfn_failed = (resources_map, logical_id, resource_json.get("Type", "?"))
        raise


parsing.parse_and_create_resource = parse_and_create_resource_noting_failure


def failure_message(error):
    message = getattr(error, "message", None) or str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


_execute_change_set = models.CloudFormationBackend.execute_change_set


def execute_change_set_rolling_back(self, change_set_name, stack_name=None):
    change_set = self.change_sets.get(change_set_name) or next(
        (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
    )
    if change_set is None or change_set.change_set_type != "CREATE":
        return _execute_change_set(self, change_set_name, stack_name)
    before = set(self.stacks)
    try:
        return _execute_change_set(self, change_set_name, stack_name)
    except Exception as error:
        roll_back_create(self, change_set, before, error)


def resource_event(stack, logical_id, resource_type, status, reason, physical_id=""):
    return models.Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical_id,
        resource_type=resource_type,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )


def roll_back_create(backend, change_set, before, error):
    root = change_set.stack
    reason = failure_message(error)
    failed_map, failed_id, failed_type = getattr(error, "dcos_cfn_failed", (root.resource_map, root.name, "AWS::CloudFormation::Stack"))
    failed_stack = next((s for s in backend.stacks.values() if s.stack_id == failed_map.stack_id), root)
    failed_stack.events.append(resource_event(failed_stack, failed_id, failed_type, "CREATE_FAILED", reason))
    if failed_stack is not root:
        nested_id = next((k for k, v in root.resource_map._resource_json_map.items() if v.get("Type") == "AWS::CloudFormation::Stack" and failed_stack.name.startswith(f"{root.name}-{k}-")), failed_stack.name)
        root.events.append(resource_event(root, nested_id, "AWS::CloudFormation::Stack", "CREATE_FAILED", f"Embedded stack {failed_stack.stack_id} was not successfully created: The following resource(s) failed to create: [{failed_id}]. ", failed_stack.stack_id))
    root._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=f"The following resource(s) failed to create: [{failed_id}]. Rollback requested by user.")
    created = [stack_id for stack_id in backend.stacks if stack_id not in before]
    ROLLING_BACK.update(created + [root.stack_id])
    try:
        for stack_id in reversed(created):
            if stack_id in backend.stacks:
                backend.delete_stack(stack_id)
        root.resource_map.delete()
    finally:
        ROLLING_BACK.difference_update(created + [root.stack_id])
    root.status = "ROLLBACK_COMPLETE"
    root._add_stack_event("ROLLBACK_COMPLETE")
    change_set.execution_status = "EXECUTE_FAILED"


models.CloudFormationBackend.execute_change_set = execute_change_set_rolling_back


from moto.elbv2 import models as elbv2_backend_models
from moto.s3 import models as s3_models


def ec2_of(account_id, region_name):
    return ec2_backends[account_id][region_name]


def delete_volume(volume, backend):
    if volume.attachment is not None and volume.attachment.instance.state in ("terminated", "shutting-down"):
        volume.attachment = None
    backend.delete_volume(volume.id)


def delete_security_group_rule(rule, backend):
    """Revokes the rule as moto's create authorized it (same arguments)."""
    properties = rule.properties
    source = {k: v for k, v in (("GroupId", properties.get("SourceSecurityGroupId")), ("GroupName", properties.get("SourceSecurityGroupName"))) if v}
    cidr = properties.get("CidrIp")
    backend.revoke_security_group_ingress(
        group_name_or_id=rule.security_group.id,
        ip_protocol=properties.get("IpProtocol"),
        from_port=properties.get("FromPort"),
        to_port=properties.get("ToPort"),
        ip_ranges=[{"CidrIp": cidr, "Description": properties.get("Description")}] if cidr else [],
        source_groups=[source] if source else [],
    )


def delete_nat_gateway(gateway, backend):
    """A deleted NAT gateway's interface goes with it (its Elastic IP is the stack's own resource)."""
    backend.delete_nat_gateway(gateway.id)
    if gateway._eni.id in backend.enis:
        gateway._eni.delete()


def delete_auto_scaling_group(group, backend):
    """Deletes the group even when its target groups went first (moto's deletion deregisters from each)."""
    from moto.autoscaling.models import autoscaling_backends

    target_groups = elbv2_backend_models.elbv2_backends[backend.account_id][backend.region_name].target_groups
    group.target_group_arns = [arn for arn in group.target_group_arns if arn in target_groups]
    autoscaling_backends[backend.account_id][backend.region_name].delete_auto_scaling_group(group.name)


# How CloudFormation deletes the types moto cannot delete from a stack: (resource, EC2 backend) -> None.
CFN_DELETERS = {
    "AWS::EC2::Volume": delete_volume,
    "AWS::AutoScaling::AutoScalingGroup": delete_auto_scaling_group,
    "AWS::EC2::SubnetCidrReservation": lambda r, b: b.delete_subnet_cidr_reservation(r.reservation.id),
    "AWS::EC2::RouteTable": lambda r, b: b.delete_route_table(r.id),
    "AWS::EC2::Route": lambda r, b: b.delete_route(r.route_table.id, r.destination_cidr_block),
    # Gap 15's model associates for real; deleting it disassociates (its own delete).
    "AWS::EC2::SubnetRouteTableAssociation": lambda r, b: r.delete(b.account_id, b.region_name),
    "AWS::EC2::VPCEndpoint": lambda r, b: b.delete_vpc_endpoints([r.id]),
    "AWS::EC2::VPCGatewayAttachment": lambda r, b: b.detach_internet_gateway(r.gateway_id, r.vpc_id),
    "AWS::EC2::InternetGateway": lambda r, b: b.delete_internet_gateway(r.id),
    "AWS::EC2::NatGateway": delete_nat_gateway,
    "AWS::EC2::NetworkInterface": lambda r, b: r.delete(),
    "AWS::EC2::EIP": lambda r, b: b.release_address(allocation_id=r.allocation_id),
    "AWS::EC2::FlowLog": lambda r, b: b.delete_flow_logs([r.id]),
    "AWS::EC2::SecurityGroupIngress": delete_security_group_rule,
    "AWS::ElasticLoadBalancingV2::Listener": lambda r, b: elbv2_backend_models.elbv2_backends[b.account_id][b.region_name].delete_listener(r.arn),
    "AWS::ElasticLoadBalancingV2::TargetGroup": lambda r, b: elbv2_backend_models.elbv2_backends[b.account_id][b.region_name].delete_target_group(r.arn),
}

_delete_resource = parsing.ResourceMap._delete_resource


def delete_resource(self, parsed_resource, resource_json):
    deleter = CFN_DELETERS.get(resource_json.get("Type"))
    if deleter is None:
        return _delete_resource(self, parsed_resource, resource_json)
    try:
        deleter(parsed_resource, ec2_of(self._account_id, self._region_name))
    except Exception as error:  # already gone (a listener goes with its load balancer): deleted, as CloudFormation sees it
        if not re.search(r"NotFound|Invalid\w*Id|does not exist", f"{type(error).__name__} {getattr(error, 'error_type', '')} {error}"):
            raise


parsing.ResourceMap._delete_resource = delete_resource


class BucketPolicyModel(CloudFormationModel):
    """AWS::S3::BucketPolicy: the policy of a bucket (of this stack or not); Ref is the bucket name."""

    __module__ = "moto.s3.models"

    def __init__(self, backend, bucket):
        self.backend = backend
        self.bucket = bucket

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::S3::BucketPolicy"

    @classmethod
    def has_cfn_attr(cls, attr):
        return False

    @property
    def physical_resource_id(self):
        return self.bucket

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        backend = s3_models.s3_backends[account_id][models.get_partition(region_name)]
        document = properties["PolicyDocument"]
        backend.put_bucket_policy(properties["Bucket"], (document if isinstance(document, str) else json.dumps(document)).encode())
        return cls(backend, properties["Bucket"])

    def delete(self, account_id, region_name):
        if self.bucket in self.backend.buckets:  # a policy goes with its bucket
            self.backend.delete_bucket_policy(self.bucket)


parsing.get_model_list.cache_clear()
parsing.get_model_map.cache_clear()
parsing.get_name_type_map.cache_clear()


_run_instances_with_template_interfaces = ec2_instances.InstanceBackend.run_instances  # gap 16's


def run_instances_as_the_template_says(self, image_id, count, user_data, security_group_names, **kwargs):
    """Gap 24: the launch template's root volume too (its interfaces are gap 16's)."""
    template = kwargs.get("launch_template")
    if template and "block_device_mappings" not in kwargs:
        data = self._get_template_from_args(template).data
        if data.get("BlockDeviceMappings"):
            kwargs["block_device_mappings"] = data["BlockDeviceMappings"]
    return _run_instances_with_template_interfaces(self, image_id, count, user_data, security_group_names, **kwargs)


ec2_instances.InstanceBackend.run_instances = run_instances_as_the_template_says


# Gap 26: nested change sets.
NESTED_STACK = "AWS::CloudFormation::Stack"
# What AWS says of a nested change set (Status CREATE_COMPLETE, ExecutionStatus UNAVAILABLE): only its root executes.
NESTED_STATUS_REASON = "Only executable from the root change set."
# AWS's AfterValue for what a change set cannot know before it runs (an output of a resource not made yet).
KNOWN_AFTER_APPLY = "{{changeSet:KNOWN_AFTER_APPLY}}"


class InvalidChangeSetStatus(CloudFormationError):
    code = "InvalidChangeSetStatus"


class ChangeSetValues:
    """What clean_json resolves a change set's values against: the change set's parameter values (given, else the new
    template's defaults), the pseudo parameters, and the stack's resources as they are now. A resource not made yet
    raises KeyError: clean_json would create it."""

    def __init__(self, change_set):
        self.resource_map = change_set.stack.resource_map
        declared = change_set.template_dict.get("Parameters", {}) or {}
        self.parameters = {}
        for name, slot in declared.items():
            value = change_set.parameters.get(name, slot.get("Default"))
            if isinstance(value, str) and (slot.get("Type") == "CommaDelimitedList" or str(slot.get("Type", "")).startswith("List")):
                value = value.split(",")
            self.parameters[name] = value
        self.lazy_condition_map = getattr(self.resource_map, "lazy_condition_map", {})
        self.cross_stack_resources = self.resource_map.cross_stack_resources

    def __getitem__(self, name):
        if name in self.parameters:
            return self.parameters[name]
        if name.startswith("AWS::"):
            return self.resource_map[name]
        return self.resource_map._parsed_resources[name]

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default


def resolve_for_change_set(value, values):
    """A template value as the change set's execution would resolve it, or KNOWN_AFTER_APPLY."""
    try:
        resolved = parsing.clean_json(value, values)
    except Exception:  # a resource the change set makes, or a function moto cannot resolve yet
        return KNOWN_AFTER_APPLY
    return KNOWN_AFTER_APPLY if resolved is None else resolved


def add_nested_change_sets(backend, change_set, root):
    """One change set per nested stack that `change_set` adds or modifies, computed from the nested stack's new template
    (its TemplateURL, read from moto's S3) and the parameters the parent would pass it (gap 20's diff, so a new
    parameter value shows too); the parent's ResourceChange names it by ChangeSetId. Recursive. None for a Remove."""
    values = ChangeSetValues(change_set)
    resources = change_set.template_dict.get("Resources", {}) or {}
    for change in change_set.changes:
        if change.resource_type != NESTED_STACK or change.action not in ("Add", "Modify"):
            continue
        logical_id = change.logical_resource_id
        properties = resources[logical_id].get("Properties", {}) or {}
        url = resolve_for_change_set(properties.get("TemplateURL"), values)
        template = models.get_stack_from_s3_url(url, account_id=backend.account_id, partition=models.get_partition(backend.region_name))
        parameters = {
            name: parameter_string(resolve_for_change_set(value, values)) for name, value in (properties.get("Parameters") or {}).items()
        }
        stack = change_set.stack.resource_map._parsed_resources.get(logical_id) if change.action == "Modify" else None
        if not isinstance(stack, models.Stack):  # a stack the execution will create: everything in it is an Add
            name = f"{change_set.stack_name}-{logical_id}-{models.mock_random.get_random_string(length=12, lower_case=False)}"
            stack = models.Stack(
                stack_id=models.generate_stack_id(name, backend.region_name, backend.account_id),
                name=name,
                template={},
                parameters=parameters,
                account_id=backend.account_id,
                region_name=backend.region_name,
            )
        name = f"{change_set.change_set_name}-{logical_id}"[:128]
        nested = models.ChangeSet(
            change_set_type="UPDATE" if stack.stack_id in backend.stacks else "CREATE",
            change_set_id=models.generate_changeset_id(name, backend.region_name, backend.account_id),
            change_set_name=name,
            stack=stack,
            template=template,
            parameters=parameters,
            description=change_set.description,
        )
        nested.status = "CREATE_COMPLETE"
        nested.execution_status = "UNAVAILABLE"
        nested.status_reason = NESTED_STATUS_REASON
        nested.include_nested_stacks = True
        nested.parent_change_set_id = change_set.change_set_id
        nested.root_change_set_id = root.change_set_id
        change.change_set_id = nested.change_set_id
        backend.change_sets[nested.change_set_id] = nested
        add_nested_change_sets(backend, nested, root)


_create_change_set_response = responses.CloudFormationResponse.create_change_set


def create_change_set_with_nested(self):
    result = _create_change_set_response(self)
    backend = self.cloudformation_backend
    root = backend.change_sets[result.result["Id"]]
    if self._get_bool_param("IncludeNestedStacks", False):
        root.include_nested_stacks = True
        if root.status == "CREATE_COMPLETE":
            try:
                add_nested_change_sets(backend, root, root)
            except Exception as error:  # a nested template moto cannot read or parse: the root fails, as on AWS
                for nested in nested_of(backend, root.change_set_id):
                    del backend.change_sets[nested.change_set_id]
                root.status, root.execution_status = "FAILED", "UNAVAILABLE"
                root.status_reason = f"A nested change set was not successfully created: {failure_message(error)}"
    return result


responses.CloudFormationResponse.create_change_set = create_change_set_with_nested


def nested_of(backend, root_id):
    return [c for c in backend.change_sets.values() if getattr(c, "root_change_set_id", None) == root_id]


def find_change_set(backend, change_set_name):
    return backend.change_sets.get(change_set_name) or next(
        (c for c in backend.change_sets.values() if c.change_set_name == change_set_name), None
    )


_execute_change_set_with_rollback = models.CloudFormationBackend.execute_change_set  # gap 21's


def execute_change_set_with_nested(self, change_set_name, stack_name=None):
    change_set = find_change_set(self, change_set_name)
    if change_set is not None and getattr(change_set, "parent_change_set_id", None):
        raise InvalidChangeSetStatus(
            f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status of [{change_set.execution_status}]"
        )
    _execute_change_set_with_rollback(self, change_set_name, stack_name)
    if change_set is not None:
        for nested in nested_of(self, change_set.change_set_id):
            nested.execution_status = change_set.execution_status
            nested.status_reason = None


models.CloudFormationBackend.execute_change_set = execute_change_set_with_nested

_delete_change_set = models.CloudFormationBackend.delete_change_set


def delete_change_set_with_nested(self, change_set_name):
    change_set = find_change_set(self, change_set_name)
    _delete_change_set(self, change_set_name)
    if change_set is not None:
        for nested in nested_of(self, change_set.change_set_id):
            del self.change_sets[nested.change_set_id]


models.CloudFormationBackend.delete_change_set = delete_change_set_with_nested

_delete_stack_and_its_change_sets = models.CloudFormationBackend.delete_stack  # gap 14's


def delete_stack_and_nested_change_sets(self, name_or_stack_id):
    _delete_stack_and_its_change_sets(self, name_or_stack_id)
    for key, change_set in list(self.change_sets.items()):
        root = getattr(change_set, "root_change_set_id", None)
        if root is not None and root not in self.change_sets:
            del self.change_sets[key]


models.CloudFormationBackend.delete_stack = delete_stack_and_nested_change_sets

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
