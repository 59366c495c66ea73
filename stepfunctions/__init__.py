"""A Step Functions engine as a Django app: ASL, executions, callback tokens, history, the AWS API.

It imports nothing from the apps that use it; they plug in through stepfunctions.resources (Task
resources) and stepfunctions.hooks (workflow events, closed executions, live topics).
"""
