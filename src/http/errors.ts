// Errors that carry an HTTP status. Espruino cannot subclass Error, so this
// is a plain Error with a `status` field.

export interface HttpError extends Error {
  status: number;
}

export function httpError(status: number, message: string): HttpError {
  const error = new Error(message) as HttpError;
  error.status = status;
  return error;
}

export function isHttpError(error: unknown): error is HttpError {
  return !!error && typeof (error as HttpError).status === 'number';
}
