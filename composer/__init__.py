"""dynamo-compose: one values file to deploy and benchmark LLMs on NVIDIA Dynamo (`compose --help`)."""
