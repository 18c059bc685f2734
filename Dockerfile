FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY peoplegraph ./peoplegraph
RUN pip install --no-cache-dir '.[insightface,neo4j]' && pip install --no-cache-dir --no-deps insightface==2.1
ENV PEOPLEGRAPH_DATA_DIR=/data
# Convert the default model pack into the image so that workers start offline.
RUN PEOPLEGRAPH_MODEL_DIR=/opt/peoplegraph-models peoplegraph models prepare
ENV PEOPLEGRAPH_MODEL_DIR=/opt/peoplegraph-models
EXPOSE 8000
CMD ["peoplegraph", "--host", "0.0.0.0", "serve", "--no-worker"]
