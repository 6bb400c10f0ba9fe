"""The Kaeri CDK app: one construct per concern, composed by KaeriStack."""
