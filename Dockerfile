# tradeapp image: one image, several roles (web, worker, beat) chosen by the command.
FROM node:20-bookworm-slim AS frontend
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    TRADEAPP_ENV=production TRADEAPP_VAR_DIR=/app/var STATIC_ROOT=/app/staticfiles
WORKDIR /app
RUN useradd --create-home --uid 1000 tradeapp
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY --from=frontend /app/node_modules ./node_modules
COPY . .
# collectstatic needs settings, not services: a throw-away key and URL are enough at build time
RUN DJANGO_SECRET_KEY=build-only-$(date +%s%N)-not-a-real-key-not-a-real-key-xx DJANGO_ALLOWED_HOSTS=build \
    DATABASE_URL=postgres://build@localhost/build python manage.py collectstatic --noinput \
    && mkdir -p var && chown -R tradeapp:tradeapp /app/var
USER tradeapp
EXPOSE 8000
CMD ["python", "manage.py", "web", "--bind", "0.0.0.0", "--port", "8000", "--proxy-headers"]
