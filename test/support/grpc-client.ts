/** A grpc-js client for the plugin's services, built from the plugin's own service definitions. */
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../src/protocol/codec';

export type Callback = (error: grpc.ServiceError | null, response: Record<string, unknown>) => void;
export type UnaryClient = grpc.Client & Record<string, (request: unknown, callback: Callback) => void>;
export type StreamingClient = grpc.Client & Record<string, (request?: unknown) => grpc.ClientReadableStream<unknown>>;

export function clientFor<T extends grpc.Client = UnaryClient>(service: string, socketPath: string): T {
    const Ctor = grpc.makeGenericClientConstructor(serviceDefinition(service), service);
    return new Ctor(`unix://${socketPath}`, grpc.credentials.createInsecure()) as unknown as T;
}

/** One unary call on a fresh connection. */
export function unaryCall(socketPath: string, service: string, method: string, request: unknown): Promise<Record<string, unknown>> {
    const client = clientFor(service, socketPath);
    return new Promise((resolve, reject) => {
        client[method]!(request, (error, response) => {
            client.close();
            if (error) reject(error);
            else resolve(response);
        });
    });
}
