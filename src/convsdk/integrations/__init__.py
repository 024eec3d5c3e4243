"""Drop-in integrations: WSGI and ASGI middleware, Flask and FastAPI helpers.

Each framework lives in its own module so ``import convsdk`` needs none of them::

    from convsdk.integrations.wsgi import ConversionMiddleware   # any WSGI app
    from convsdk.integrations.asgi import ConversionMiddleware   # any ASGI app
    from convsdk.integrations.flask import ConvSDK               # Flask extension
    from convsdk.integrations.fastapi import ConversionMiddleware, RequestContextDep
"""

__all__: list[str] = []
