"""The CDS Hooks service and the web page (`cramp-expert serve`).

`cards` turns a consultation into CDS Hooks cards; `app` is the ASGI application (Starlette),
with discovery, the patient-view and order services, the web page and the report links.
Starlette, uvicorn and PyJWT are imported only here, never by a plain consultation.
"""
