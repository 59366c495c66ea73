"""The Step Functions JSON protocol over HTTP, so boto3 and the aws CLI drive the project as is."""
